"""A stored result scored again with other task details, or over part of the video, without the pose model.

The poses are what an analysis pays for (the video decoded, the pose model run on every sampled frame); the
scores that stand on them are cheap.  A result keeps the main worker's poses as the analysis chose, judged and
labelled them (``keypoints``, ``world_keypoints``, ``detected``, ``rejections``:
:class:`~.result_model.FrameColumns`), so a re-score takes them from there and runs only
:func:`.analysis.score_poses`, the one way every result is scored: new angles (a camera pitch and roll given
with the new details level the trunk differently), scores, bands, summary and verdict.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .analysis import AnalysisOptions, WorkerPoses, score_poses
from .assessment import AssessmentParams
from .errors import PipelineError
from .presets import get_preset
from .result_model import AnalysisResult


class EmptyRange(PipelineError):
    """The time range asked for holds no analysed frame."""

    code = "empty_range"


def stored_poses(result: AnalysisResult) -> WorkerPoses:
    """The main worker's poses as the result keeps them."""
    return WorkerPoses(result.frame_indices, result.timestamps, list(result.keypoint_names), result.keypoints,
                       result.world_keypoints, result.boxes, result.detected, list(result.rejections))


def in_range(poses: WorkerPoses, start_s: float | None, end_s: float | None) -> WorkerPoses:
    """The frames with ``start_s`` <= time < ``end_s`` (either end open when None); refuses a range without one."""
    if start_s is None and end_s is None:
        return poses
    start, end = start_s if start_s is not None else -np.inf, end_s if end_s is not None else np.inf
    keep = (poses.times >= start) & (poses.times < end)
    if not keep.any():
        raise EmptyRange(f"No analysed frame lies between {_seconds(start_s, 'the start')} and {_seconds(end_s, 'the end')} "
                         f"of the video (its frames run from {poses.times[0]:.2f} s to {poses.times[-1]:.2f} s): "
                         "choose a range within them." if len(poses.times) else "The result holds no analysed frame.")
    return poses.rows(keep)


def _seconds(value: float | None, open_end: str) -> str:
    return open_end if value is None else f"{value:g} s"


def rescore(original: AnalysisResult, params: AssessmentParams, *, start_s: float | None = None, end_s: float | None = None,
            job_id: str | None = None) -> AnalysisResult:
    """``original``'s poses scored with ``params`` (they replace its task details whole), over the frames with
    ``start_s`` <= time < ``end_s`` when given: a new result, with the original's video, preset and pose model.

    The camera's pitch and roll are the new details' (:class:`AnalysisOptions` applies them) or, without them,
    estimated again from the poses, as the analysis does."""
    angles = replace(original.angle_settings, camera_pitch=None, camera_roll=None)
    options = AnalysisOptions(preset=get_preset(original.preset.name), params=params, angles=angles)
    return score_poses(in_range(stored_poses(original), start_s, end_s), options, video=original.video.model_dump(),
                       model=original.model.model_dump(), damaged=list(original.summary.damaged_spans), job_id=job_id)
