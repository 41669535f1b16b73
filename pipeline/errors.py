"""Errors the pipeline raises for problems with the input, worded for the person who sent it."""


class PipelineError(Exception):
    """An expected failure (bad video, missing model weights): its message is shown as it is."""

    code = "pipeline_error"
