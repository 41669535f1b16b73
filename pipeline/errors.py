"""Every exception the pipeline raises, in one hierarchy.

:class:`PipelineError` and its subclasses are problems with the input, worded
for the person who sent it (a bad video, missing model files); the analysis
task reports their message as it is.  The others are programming or file
format errors.
"""


class PipelineError(Exception):
    """An expected failure (bad video, missing model weights): its message is shown as it is."""

    code = "pipeline_error"


class UnreadableVideo(PipelineError):
    """The file is not a video that can be decoded."""

    code = "unreadable_video"


class PoseModelUnavailable(PipelineError):
    """The model's weights cannot be found or loaded."""

    code = "model_unavailable"


class ModelMissing(PoseModelUnavailable):
    """A BlazePose model file is not in the models folder (``ergo models fetch`` gets it)."""


class UnsafeResult(ValueError):
    """The file is not an ergo result, or holds something other than data."""


class MalformedResult(UnsafeResult):
    """A result without the shape of :class:`pipeline.result_model.AnalysisResult` (a field missing, of another type)."""


class UnsupportedGraph(ValueError):
    """The model uses something the TFLite-graph executor does not implement."""
