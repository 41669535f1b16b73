"""How right is the wrist's bend?  Each camera of the four-camera recordings against the triangulated reference.

    .venv/bin/python benchmarks/wrist_accuracy.py [--recording single|multi] [--fps 30]

:mod:`benchmarks.accuracy` leaves the wrist out of its table; this script measures it the same way (each camera
analysed as a user would film it, the reference being ergo's angle functions on the skeleton triangulated from the
cameras following the same person), per camera, for the wrist taken

- ``3d``: from the model's 3D points placed on the image (:func:`pipeline.viewpoint.on_image`), in every frame;
- ``image``: from the image, in every frame;
- ``analysis``: as the analysis takes it (:func:`pipeline.viewpoint.measured_angles`: the image's where the forearm
  lies across the picture, :data:`pipeline.viewpoint.WRIST_FOREARM_LIMIT`, else the 3D points');

with the mean absolute error and its 95th percentile (both sides pooled), the mean error per side (``bias``: positive
reads more bend than the reference), how often RULA's and REBA's wrist score and grand score equal the reference's
(each camera's other angles as analysed), and per band of the forearm's tilt out of the picture the image's and the
3D points' mean error.  Reference wrists of 90 degrees or more (a hand folded flat onto the forearm, which the
recordings do not show: two views that disagree on the hand) are left out of the errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

WRISTS = ("wrist_left", "wrist_right")
#: A reference wrist bent this far or more is the triangulation's failure, not a posture of these recordings.
IMPLAUSIBLE = 90.0
#: Bands of the forearm's tilt out of the picture (degrees) for the image-against-3D comparison.
TILT_BANDS = (0.0, 15.0, 30.0, 45.0, 60.0, 90.0)


def wrist_sources(result) -> dict[str, dict[str, np.ndarray]]:
    """Per way of taking the wrist (``3d``, ``image``, ``analysis``), the analysed wrists, gaps filled as the analysis
    fills them; and ``tilt``: per wrist, the forearm's tilt out of the picture."""
    from pipeline.angles import AngleSettings, clean_angles, compute_angles, compute_world_angles
    from pipeline.viewpoint import forearm_tilts, on_image

    settings = AngleSettings()
    keypoints, names = result.keypoints, result.keypoint_names
    placed = on_image(result.world_keypoints, keypoints, settings.min_confidence)
    raw = {"3d": compute_world_angles(placed, keypoints, names, settings), "image": compute_angles(keypoints, names, settings)}
    ways = {way: {name: np.where(result.detected, series, np.nan) for name, series in
                  clean_angles({name: angles[name] for name in WRISTS}, result.timestamps, settings).items()}
            for way, angles in raw.items()}
    return {**ways, "analysis": {name: result.angles[name] for name in WRISTS},
            "tilt": forearm_tilts(placed, keypoints, names, settings)}


def _equal(ours: np.ndarray, truth: np.ndarray) -> float:
    both = np.isfinite(ours) & np.isfinite(truth)
    return round(float(np.mean(ours[both] == truth[both])), 2)


def camera_report(result, truth: dict) -> dict:
    """One camera's wrist figures for each way of taking it (see the module's docstring)."""
    from pipeline.assessment import AssessmentParams, score_frames

    reference = {name: np.where(truth["angles"][name] < IMPLAUSIBLE, truth["angles"][name], np.nan) for name in WRISTS}
    true_rula, true_reba, _ = score_frames(truth["angles"], AssessmentParams())
    sources, report = wrist_sources(result), {}
    for way in ("3d", "image", "analysis"):
        wrists = sources[way]
        errors = np.concatenate([wrists[name] - reference[name] for name in WRISTS])
        errors = np.abs(errors[np.isfinite(errors)])
        rula, reba, _ = score_frames({**result.angles, **wrists}, AssessmentParams())
        report[way] = {"mae_p95": [round(float(errors.mean()), 1), round(float(np.percentile(errors, 95)), 1)],
                       "bias": {name: round(float(np.nanmean(wrists[name] - reference[name])), 1) for name in WRISTS},
                       "rula_wrist_equal": _equal(rula["wrist"], true_rula["wrist"]),
                       "reba_wrist_equal": _equal(reba["wrist"], true_reba["wrist"]),
                       "rula_equal": _equal(rula["grand_score"], true_rula["grand_score"]),
                       "reba_equal": _equal(reba["reba_score"], true_reba["reba_score"])}
    report["errors_by_tilt"] = _by_tilt(sources, reference)
    return report


def _by_tilt(sources: dict, reference: dict) -> dict:
    """Per band of the forearm's tilt out of the picture, the frames and the image's and the 3D points' absolute errors
    (summed, to be pooled over cameras)."""
    tilt = np.concatenate([sources["tilt"][name] for name in WRISTS])
    errors = {way: np.abs(np.concatenate([sources[way][name] - reference[name] for name in WRISTS])) for way in ("image", "3d")}
    bands = {}
    for low, high in zip(TILT_BANDS[:-1], TILT_BANDS[1:]):
        inside = (tilt >= low) & (tilt < high) & np.isfinite(errors["image"]) & np.isfinite(errors["3d"])
        bands[f"{low:g}-{high:g}"] = {"frames": int(inside.sum()), **{way: float(error[inside].sum()) for way, error in errors.items()}}
    return bands


def run(recording: str, fps: float) -> dict:
    """Analyse, triangulate and compare one recording's cameras."""
    from benchmarks.accuracy import analysed

    results, truths, _ = analysed(recording, fps)
    cameras = {camera: camera_report(results[camera], truth) for camera, truth in truths.items()}
    pooled = {}
    for band in cameras[next(iter(cameras))]["errors_by_tilt"]:
        frames = sum(report["errors_by_tilt"][band]["frames"] for report in cameras.values())
        pooled[band] = {"frames": frames, **{way: round(sum(report["errors_by_tilt"][band][way] for report in cameras.values())
                                                        / max(frames, 1), 1) for way in ("image", "3d")}}
    for report in cameras.values():
        del report["errors_by_tilt"]
    return {"recording": recording, "cameras": cameras, "mean_error_by_forearm_tilt": pooled}


if __name__ == "__main__":
    from benchmarks.accuracy import probe_main

    probe_main(run, __doc__)
