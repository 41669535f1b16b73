"""Where does the trunk's error come from: the camera-angle estimate or the pose's depth?

    .venv/bin/python benchmarks/trunk_truth.py [--recording single|multi] [--fps 30]

On Pose2Sim's four-camera recordings (:mod:`benchmarks.accuracy`), each camera's trunk flexion against the triangulated
reference (MAE/p95, degrees, and the mean signed error: positive reads too much flexion), levelled three ways:

- ``stance``: by the analysis's own estimate from the worker's stance (:func:`pipeline.angles.camera_tilt`);
- ``calibrated``: by the camera's calibrated pitch and roll, as a user who knows them gives them;
- ``model_frame``: by the true vertical in the pose model's own frame.  BlazePose's 3D points are a body model fitted to
  a crop around the worker: their depth runs along the line from the camera to the worker, not along the camera's
  optical axis, so gravity is measured against the camera's axes turned to look at the worker's hips (1-14 degrees
  from the optical axis here).  With this vertical no camera-angle estimate is to blame: what error is left is the
  pose's depth.

``stance_to_model_frame`` is the angle between the stance estimate's vertical and that true one.  The stance estimate
finds the vertical of the model's own frame (its legs), which is why it sometimes beats the calibrated angle.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def towards_worker(camera, skeleton: np.ndarray, names: list[str]) -> np.ndarray:
    """(3, 3) the smallest rotation from the camera's axes to axes whose depth runs from the camera to the worker's hips
    (their median over the recording)."""
    from pipeline.angles import unit

    hips = (skeleton[:, names.index("left_hip")] + skeleton[:, names.index("right_hip")]) / 2
    ray = unit(camera.rotation @ (np.nanmedian(hips, axis=0) - camera.centre))
    axis, cosine = np.cross(ray, [0.0, 0.0, 1.0]), float(ray[2])
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + cross + cross @ cross / (1.0 + cosine)


def trunk_errors(result, truth: dict, tilt) -> dict:
    """Trunk flexion's MAE/p95 and mean signed error against ``truth`` with the world points levelled by ``tilt``, as the
    analysis measures it (gaps filled, frames without the worker left out)."""
    from pipeline.angles import AngleSettings, clean_angles, compute_world_angles

    settings = AngleSettings()
    angles = compute_world_angles(result.world_keypoints, result.keypoints, result.keypoint_names, settings, tilt)
    flexion = clean_angles({"trunk_flexion": angles["trunk_flexion"]}, result.timestamps, settings)["trunk_flexion"]
    error = np.where(result.detected, flexion, np.nan) - truth["angles"]["trunk_flexion"]
    error = error[np.isfinite(error)]
    return {"mae_p95": [round(float(np.abs(error).mean()), 1), round(float(np.percentile(np.abs(error), 95)), 1)],
            "bias": round(float(error.mean()), 1)}


def run(recording: str, fps: float) -> dict:
    """Per camera, the trunk's error levelled by the stance estimate, the calibrated angle and the model frame's vertical."""
    from benchmarks.accuracy import analysed
    from pipeline.angles import CameraTilt, stance_tilt

    results, truths, calibration = analysed(recording, fps)
    report = {}
    for name, truth in truths.items():
        result, camera = results[name], calibration[name]
        stance = stance_tilt(result.world_keypoints, result.keypoints, result.keypoint_names)
        true_down = towards_worker(camera, truth["skeleton"], result.keypoint_names) @ camera.tilt().down
        report[name] = {"median_azimuth": result.inputs.viewpoint.median_azimuth,
                        "stance": trunk_errors(result, truth, stance),
                        "calibrated": trunk_errors(result, truth, camera.tilt()),
                        "model_frame": trunk_errors(result, truth, CameraTilt.from_down(true_down, "given")),
                        "stance_to_model_frame": round(float(np.degrees(np.arccos(np.clip(stance.down @ true_down, -1.0, 1.0)))), 1)}
    return {"recording": recording, "cameras": report}


if __name__ == "__main__":
    from benchmarks.accuracy import probe_main

    probe_main(run, __doc__)
