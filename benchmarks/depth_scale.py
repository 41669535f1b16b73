"""Is BlazePose's depth wrong by a scale?  A per-video depth scale from bone-length constancy, against the reference.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/depth_scale.py [--recording single|multi] [--fps 30]

The idea measured: a learned 3D pose may get the depth, the body's extent along the camera's line of sight, too
shallow or too deep by a factor while its x and y (in the analysis the image's, :func:`pipeline.viewpoint.on_image`)
are right.  A person's segments (:data:`SEGMENTS`) keep their lengths as they move; with the depth wrong by a factor,
``sqrt(dx**2 + dy**2 + (s*dz)**2)`` stays the same over the frames only for the right ``s`` and changes with the
segment's orientation for any other (a shank turned towards the camera reads shorter than the same shank across the
picture).  So :func:`estimate_depth_scale` takes the ``s`` that makes the lengths most constant: per segment, the
mean absolute deviation of its log length from its median, averaged over the segments, smallest over :data:`GRID`.
Constancy tells the scale only where segments turn towards or away from the camera during the video: a person who
never turns, bends or reaches in depth has the same depth share in every frame, and every scale is as constant as
every other.  The interval says so: the scales whose cost is within two standard errors of the best's (a jackknife
over :data:`CHUNKS` stretches of the video); ``high`` confidence where it lies within :data:`HIGH_CONFIDENCE` of the
estimate, and only then would the depth be rescaled (``DepthScale.scale``; 1 otherwise).

On Pose2Sim's calibrated recordings (:mod:`benchmarks.accuracy`), per camera:

- ``estimate``: the scale of the 3D points placed on the image (x and y the image's, depth BlazePose's), its
  interval and confidence;
- ``check``: the same estimator on the reference skeleton itself (in the camera's axes: its depth is right, so about
  1 is expected) and on it with its depth halved (about 2): does it find a scale where there is one;
- ``segments``: the placed points' segment depths against the reference's: ``fit``, the one factor that brings ours
  closest to the reference's (least squares: the depth scale the reference itself would choose);
  ``ours_on_reference``, the regression the other way (how knee_depth.py found the man's leg depths "0.57-0.80" of
  the reference's); their correlation;
- ``knee_bend``: the knee's depth out of the line from hip to ankle (``z_hip + z_ankle - 2 z_knee``: 0 for a
  straight leg, as large as the bend reaches towards or away from the camera), ours and the reference's (mean
  absolute, metres), and the factor that brings ours closest to the reference's;
- ``mae``: trunk flexion, upper arm, elbow and knee MAE against the reference with BlazePose's depth multiplied by
  ``s`` before anything is measured (the camera's tilt, the trunk and the placed points alike), for ``s`` = the
  estimate where its confidence is high (else 1: what the analysis would do), the estimate whatever its confidence,
  the reference's ``fit``, and each of :data:`SWEEP`.

The result, and why no scale was adopted (the estimator lives here, not in the analysis), is in docs/pipeline.md
("A depth scale from the bones' lengths"); ``tests/test_depth_scale.py`` checks the estimator on synthetic skeletons.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import accuracy  # noqa: E402  (after the path: run as a script)

#: The body's segments whose lengths are constant: upper arms, forearms, thighs, shanks, shoulder and hip widths,
#: the trunk's sides.
SEGMENTS = (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"),
            ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("right_hip", "right_knee"),
            ("left_knee", "left_ankle"), ("right_knee", "right_ankle"), ("left_shoulder", "right_shoulder"),
            ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"))
#: The scales tried (a factor 4 either way, 1% steps).
GRID = np.exp(np.linspace(np.log(0.25), np.log(4.0), 279))
#: A segment counts where seen in at least this many frames; the estimate needs at least two such segments.
MIN_FRAMES = 10
#: The video's stretches left out one at a time for the jackknife.
CHUNKS = 10
#: ``high`` confidence where the interval lies within this factor of the estimate either way...
HIGH_CONFIDENCE = 1.25
#: ...and the segments turn in depth by at least this much (:func:`turning`, degrees).  Geometry: a segment turned
#: ``t`` degrees out of the picture, with the depth 25% off, reads ``sqrt(cos(t)**2 + 1.25**2 * sin(t)**2)`` of its
#: length: 3% long at 20 degrees, 7% at 30; BlazePose's segment lengths vary by 3-10% (standard deviation over a
#: clip of the benchmark) whatever the depth, so only a turn of 30 degrees or more shows a scale that far off.
#: Without it, the lengths' noise alone can pin a scale (noise of different sizes across and along the line of
#: sight), which is no depth scale.
MIN_TURN = 30.0


@dataclass(frozen=True)
class DepthScale:
    """The depth's scale (multiply the depth by ``scale``: the estimate where its confidence is high, else 1), the
    estimate itself and its interval, the segment-frames used, and the confidence (``high``, ``low``, ``none``)."""

    scale: float
    estimate: float | None
    low: float | None
    high: float | None
    frames: int
    #: How far the segments turn in depth over the video (:func:`turning`, degrees).
    turn: float | None
    confidence: str

    def as_dict(self) -> dict:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {"scale": round(self.scale, 3), "estimate": rounded(self.estimate), "low": rounded(self.low),
                "high": rounded(self.high), "frames": self.frames,
                "turn": None if self.turn is None else round(self.turn, 1), "confidence": self.confidence}


def segment_deltas(points: np.ndarray, confidence: np.ndarray, names: Sequence[str], min_confidence: float) -> np.ndarray:
    """(n, segments, 3) each segment's vector per frame, NaN where an end is unseen."""
    out = []
    for start, end in SEGMENTS:
        first, second = names.index(start), names.index(end)
        delta = points[:, second] - points[:, first]
        seen = (confidence[:, first] >= min_confidence) & (confidence[:, second] >= min_confidence) & np.isfinite(delta).all(-1)
        out.append(np.where(seen[:, None], delta, np.nan))
    return np.stack(out, axis=1)


def costs(deltas: np.ndarray) -> np.ndarray:
    """(grid,) per scale of :data:`GRID`, how much the segments' log lengths vary (mean over segments of the mean
    absolute deviation from their median); ``deltas`` (n, segments, 3) with every segment seen somewhere."""
    across, depth = np.sum(deltas[..., :2] ** 2, -1), deltas[..., 2] ** 2
    logs = 0.5 * np.log(across[None] + GRID[:, None, None] ** 2 * depth[None])  # (grid, n, segments)
    deviation = np.abs(logs - np.nanmedian(logs, axis=1, keepdims=True))
    return np.nanmean(np.nanmean(deviation, axis=1), axis=-1)


def estimate_depth_scale(points: np.ndarray, confidence: np.ndarray, names: Sequence[str], min_confidence: float) -> DepthScale:
    """The depth scale of ``points`` (n, k, 3; x and y right, the depth wrong by a factor) from bone-length
    constancy, with its interval and confidence (:data:`__doc__`)."""
    deltas = segment_deltas(points, confidence, names, min_confidence)
    counted = np.isfinite(deltas[..., 2]).sum(0) >= MIN_FRAMES
    deltas = deltas[:, counted]
    frames = int(np.isfinite(deltas[..., 2]).sum())
    if counted.sum() < 2:
        return DepthScale(1.0, None, None, None, frames, None, "none")
    curve = costs(deltas)
    best = int(np.argmin(curve))
    gaps = _jackknife_gaps(deltas, best)
    within = curve - curve[best] <= 2.0 * gaps
    low, high = float(GRID[within].min()), float(GRID[within].max())
    estimate = float(GRID[best])
    turn = turning(rescaled(deltas, estimate))
    sure = low >= estimate / HIGH_CONFIDENCE and high <= estimate * HIGH_CONFIDENCE and turn >= MIN_TURN
    return DepthScale(estimate if sure else 1.0, estimate, low, high, frames, turn, "high" if sure else "low")


def turning(deltas: np.ndarray) -> float:
    """How far the segments turn towards or away from the camera over the video (degrees): per segment, the range
    (10th to 90th percentile over the frames) of its angle out of the picture's plane; the largest over segments (one
    segment turning is enough: the others' lengths stay constant at any scale and only add noise to the cost)."""
    out_of_picture = np.degrees(np.arcsin(np.clip(np.abs(deltas[..., 2]) / np.linalg.norm(deltas, axis=-1), 0.0, 1.0)))
    low, high = np.nanpercentile(out_of_picture, [10, 90], axis=0)
    return float(np.max(high - low))


def _jackknife_gaps(deltas: np.ndarray, best: int) -> np.ndarray:
    """(grid,) the standard error of each scale's cost minus the best's, from leaving out each of :data:`CHUNKS`
    stretches of frames in turn."""
    chunks = [chunk for chunk in np.array_split(np.arange(len(deltas)), min(CHUNKS, len(deltas))) if len(chunk)]
    left_out = []
    for chunk in chunks:
        kept = np.delete(deltas, chunk, axis=0)
        if (np.isfinite(kept[..., 2]).sum(0) == 0).any():
            continue  # a segment seen only in this stretch: no cost without it
        curve = costs(kept)
        left_out.append(curve - curve[best])
    if len(left_out) < 2:
        return np.full(len(GRID), np.inf)
    left_out = np.array(left_out)
    count = len(left_out)
    return np.sqrt((count - 1) / count * np.sum((left_out - left_out.mean(0)) ** 2, axis=0))


def rescaled(points: np.ndarray, scale: float) -> np.ndarray:
    """``points`` with their depth (the last coordinate) multiplied by ``scale``: a copy."""
    out = points.astype(np.float64, copy=True)
    out[..., 2] *= scale
    return out


#: The fixed depth scales tried.
SWEEP = (0.6, 0.8, 1.0, 1.25, 1.6, 2.0)
#: The angles compared (both sides of a limb pooled).
ANGLES = {name: accuracy.COMPARED[name] for name in ("trunk_flexion", "upper_arm", "elbow", "knee")}


def _in_camera(truth: dict, camera: accuracy.Camera) -> np.ndarray:
    """The reference skeleton in the camera's axes (metres; x right, y down, z along the view, as BlazePose's)."""
    return truth["skeleton"] @ camera.rotation.T


def _seen(points: np.ndarray) -> np.ndarray:
    """A confidence of 1 where the reference has a point (its points are triangulated or missing)."""
    return np.isfinite(points).all(-1).astype(float)


def estimates(result, truth: dict, camera: accuracy.Camera) -> dict:
    """The estimate on the placed points, and on the reference as it is and with its depth halved (``check``)."""
    from pipeline.angles import AngleSettings
    from pipeline.viewpoint import on_image

    names, confidence = result.keypoint_names, AngleSettings().min_confidence
    placed = on_image(result.world_keypoints, result.keypoints, confidence)
    reference = _in_camera(truth, camera)
    return {"estimate": estimate_depth_scale(placed, result.keypoints[..., 2], names, confidence).as_dict(),
            "check": {label: estimate_depth_scale(points, _seen(points), names, confidence).as_dict()
                      for label, points in (("reference", reference), ("reference_depth_halved", rescaled(reference, 0.5)))}}


def _fit(ours: np.ndarray, theirs: np.ndarray) -> float:
    """The factor ``f`` that makes ``f * ours`` closest to ``theirs`` (least squares over the finite pairs)."""
    both = np.isfinite(ours) & np.isfinite(theirs)
    return round(float(np.sum(ours[both] * theirs[both]) / np.sum(ours[both] ** 2)), 2)


def depths(result, truth: dict, camera: accuracy.Camera) -> dict:
    """The placed points' segment depths and knee bends against the reference's (``segments``, ``knee_bend``)."""
    from pipeline.angles import SIDES, AngleSettings
    from pipeline.viewpoint import on_image

    names, confidence = result.keypoint_names, AngleSettings().min_confidence
    placed = on_image(result.world_keypoints, result.keypoints, confidence)
    reference = _in_camera(truth, camera)
    ours = segment_deltas(placed, result.keypoints[..., 2], names, confidence)[..., 2].ravel()
    theirs = segment_deltas(reference, _seen(reference), names, confidence)[..., 2].ravel()
    both = np.isfinite(ours) & np.isfinite(theirs)

    def bends(points: np.ndarray, seen: np.ndarray) -> np.ndarray:
        out = []
        for side in SIDES:
            hip, knee, ankle = (names.index(f"{side}_{joint}") for joint in ("hip", "knee", "ankle"))
            visible = (seen[:, [hip, knee, ankle]] >= confidence).all(-1)
            out.append(np.where(visible, points[:, hip, 2] + points[:, ankle, 2] - 2 * points[:, knee, 2], np.nan))
        return np.concatenate(out)

    bend_ours, bend_theirs = bends(placed, result.keypoints[..., 2]), bends(reference, _seen(reference))
    return {"segments": {"fit": _fit(ours, theirs), "ours_on_reference": _fit(theirs, ours),
                         "correlation": round(float(np.corrcoef(ours[both], theirs[both])[0, 1]), 2)},
            "knee_bend": {"ours_m": round(float(np.nanmean(np.abs(bend_ours))), 3),
                          "reference_m": round(float(np.nanmean(np.abs(bend_theirs))), 3), "fit": _fit(bend_ours, bend_theirs)}}


def errors_at(result, truth: dict, scale: float) -> dict:
    """Per compared angle, its MAE against the reference with BlazePose's depth multiplied by ``scale`` first."""
    from pipeline.angles import AngleSettings, camera_tilt, clean_angles
    from pipeline.viewpoint import measured_angles

    settings, names, keypoints = AngleSettings(), result.keypoint_names, result.keypoints
    world = rescaled(result.world_keypoints, scale)
    measured = measured_angles(world, keypoints, names, settings, camera_tilt(world, keypoints, names, settings))[0]
    cleaned = clean_angles(measured, result.timestamps, settings)
    return {angle: accuracy.mae_p95(np.concatenate([np.abs(np.where(result.detected, cleaned[name], np.nan) - truth["angles"][name])
                                                     for name in names_]))[0] for angle, names_ in ANGLES.items()}


def run(recording: str = "single", fps: float = 30.0) -> dict:
    results, truths, calibration = accuracy.analysed(recording, fps)
    report: dict = {"recording": recording, "cameras": {}}
    for name, truth in truths.items():
        result, camera = results[name], calibration[name]
        found, compared = estimates(result, truth, camera), depths(result, truth, camera)
        scales = {"estimate_if_high": found["estimate"]["scale"], "estimate": found["estimate"]["estimate"] or 1.0,
                  "reference_fit": compared["segments"]["fit"], **{f"{scale:g}": scale for scale in SWEEP}}
        report["cameras"][name] = {**found, **compared,
                                   "mae": {label: {"scale": round(scale, 2), **errors_at(result, truth, scale)} for label, scale in scales.items()}}
    return report


if __name__ == "__main__":
    accuracy.probe_main(run, __doc__)
