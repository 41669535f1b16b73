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
from .angles import CameraTilt
from .assessment import AssessmentParams
from .presets import get_preset
from .result_model import AnalysisResult, VideoRecord
from .scene_vertical import SceneVertical
from .time_range import RangeOutsideVideo, TimeRange, within


def stored_poses(result: AnalysisResult) -> WorkerPoses:
    """The main worker's poses as the result keeps them."""
    return WorkerPoses(result.frame_indices, result.timestamps, list(result.keypoint_names), result.keypoints,
                       result.world_keypoints, result.boxes, result.detected, list(result.rejections), stored_scene(result))


def stored_scene(result: AnalysisResult) -> SceneVertical | None:
    """The scene's vertical as the result recorded it where its lines were trusted (the video is not read again)."""
    tilt = result.inputs.camera_tilt
    if tilt is None or tilt.scene_pitch is None or tilt.scene_roll is None:
        return None
    return SceneVertical(CameraTilt(tilt.scene_pitch, tilt.scene_roll, "scene").down, tilt.lines, tilt.line_length, 0.0)


def in_range(poses: WorkerPoses, span: TimeRange | None, video: VideoRecord) -> WorkerPoses:
    """The frames within ``span`` fitted to the video (:func:`.time_range.within`: the frames an analysis of that
    range picks); refused in words where none is left."""
    if span is None:
        return poses
    fitted = span.fitted(video.duration)
    keep = np.isin(poses.frame_indices, within(poses.frame_indices, video.fps, fitted))
    if not keep.any():
        raise RangeOutsideVideo(f"No frame of this result lies in {fitted.start_s:g}-{fitted.end_s:g} s (it holds "
                                f"{poses.times[0]:.1f}-{poses.times[-1]:.1f} s): choose a range within those."
                                if len(poses.times) else "The result holds no analysed frame.")
    return poses.rows(keep)


def rescore(original: AnalysisResult, params: AssessmentParams, *, start_s: float | None = None, end_s: float | None = None,
            job_id: str | None = None) -> AnalysisResult:
    """``original``'s poses scored with ``params`` (they replace its task details whole), over the frames with
    ``start_s`` <= time < ``end_s`` when given (checked and fitted as an analysis's range, :mod:`.time_range`): a new
    result, with the original's video, preset and pose model.

    The camera's pitch and roll are the new details' (:class:`AnalysisOptions` applies them) or, without them,
    estimated again from the poses, as the analysis does."""
    angles = replace(original.angle_settings, camera_pitch=None, camera_roll=None)
    asked = TimeRange.checked(start_s, end_s)
    kept = original.time_range  # a range of a result analysed over a range stays within it
    span = asked or (TimeRange(kept.start_s, kept.end_s) if kept else None)
    options = AnalysisOptions(preset=get_preset(original.preset.name), params=params, angles=angles, time_range=span)
    return score_poses(in_range(stored_poses(original), asked, original.video), options, video=original.video.model_dump(),
                       model=original.model.model_dump(), damaged=list(original.summary.damaged_spans), job_id=job_id)
