"""Why does one camera's knee differ from the four-camera reference's?  Each knee reading against it, both recordings.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/knee_depth.py [--recording single|multi] [--fps 30]

On Pose2Sim's calibrated recordings (:mod:`benchmarks.accuracy`), the analysis's knee flexion is 10-18 degrees off on
the man's cameras, nearly always too little, and REBA's legs score (1, +1 past 30 degrees, +2 past 60) differs from
the reference's on 28-65% of frames.  This script measures, per camera, knee flexion's MAE/p95 and mean error (ours
minus the reference's) and how often REBA's legs score is lower or higher than the reference's, with the knee read

- ``analysis``: as the analysis reads it (:func:`pipeline.viewpoint.measured_angles`: from the image where the leg's
  plane faces the camera within :data:`~pipeline.viewpoint.IMAGE_PLANE_LIMIT`, else from the 3D points placed on it);
- ``image``: from the image alone; ``3d_placed``: from the 3D points placed on the image alone; ``3d_own``: from
  BlazePose's own 3D points;
- ``limit_15``, ``limit_45``: the analysis's choice with the image read within 15 or 45 degrees instead of 30;
- ``reference_depth``: the 3D points placed on the image, each thigh's and shank's depth (its extent along the line of
  sight) taken from the reference (the triangulated skeleton turned into the camera's axes): what the knee would read
  if only the depth were right;

and the cross-view spread of each (largest minus smallest camera following the same person, mean over frames).
``planes``: per camera, how far the leg's plane is turned from the picture (median, degrees) as the 3D points placed
on the image say and as the reference says, and of the frames the analysis reads from the image (its 3D points say
the plane faces the camera within the limit) the share the reference has turned further than that.
The result, and why no reading was adopted, is in docs/pipeline.md ("The knee and REBA's legs").
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import accuracy  # noqa: E402  (after the path: run as a script)

KNEES = ("knee_left", "knee_right")
#: The joints of each knee's two limbs, from the knee: the thigh (to the hip) and the shank (to the ankle).
LIMBS = ("hip", "ankle")


def _flexion(thigh: np.ndarray, shank: np.ndarray) -> np.ndarray:
    """180 minus the angle between the knee's two limbs (degrees), as :mod:`pipeline.angles` measures it."""
    cosine = np.sum(thigh * shank, -1) / (np.linalg.norm(thigh, axis=-1) * np.linalg.norm(shank, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def readings(result, truth: dict, camera: accuracy.Camera) -> dict[str, dict[str, np.ndarray]]:
    """Per way of reading the knee (the module's list), both knees per frame, as the analysis cleans its angles."""
    from pipeline.angles import AngleSettings, camera_tilt, clean_angles, compute_angles, compute_world_angles
    from pipeline.viewpoint import on_image, plane_tilts

    settings, names, keypoints, world = AngleSettings(), result.keypoint_names, result.keypoints, result.world_keypoints
    tilt = camera_tilt(world, keypoints, names, settings)
    placed = on_image(world, keypoints, settings.min_confidence)
    image, deep = compute_angles(keypoints, names, settings), compute_world_angles(placed, keypoints, names, settings, tilt)
    own, tilts = compute_world_angles(world, keypoints, names, settings, tilt), plane_tilts(placed, keypoints, names, settings)
    reference = truth["skeleton"] @ camera.rotation.T  # the laboratory's metres in the camera's axes

    def within(limit: float) -> Callable[[str], np.ndarray]:
        return lambda name: np.where((tilts[name] <= limit) & ~np.isnan(image[name]) & ~np.isnan(deep[name]), image[name],
                                     np.where(np.isnan(deep[name]), image[name], deep[name]))

    def reference_depth(name: str) -> np.ndarray:
        side = name.split("_")[1]
        knee = names.index(f"{side}_knee")
        limbs = []
        for joint in LIMBS:
            other = names.index(f"{side}_{joint}")
            limbs.append(np.concatenate([placed[:, other, :2] - placed[:, knee, :2], reference[:, other, 2:] - reference[:, knee, 2:]], -1))
        return np.where(np.isnan(deep[name]), np.nan, _flexion(*limbs))

    ways = {"image": image.__getitem__, "3d_placed": deep.__getitem__, "3d_own": own.__getitem__, "limit_15": within(15.0),
            "limit_45": within(45.0), "reference_depth": reference_depth}
    out = {"analysis": {name: result.angles[name] for name in KNEES}}
    for way, read in ways.items():
        cleaned = clean_angles({name: read(name) for name in KNEES}, result.timestamps, settings)
        out[way] = {name: np.where(result.detected, cleaned[name], np.nan) for name in KNEES}
    return out


def planes(result, truth: dict, camera: accuracy.Camera) -> dict:
    """The leg's plane as the 3D points placed on the image see it and as the reference has it (:data:`__doc__`)."""
    from pipeline.angles import AngleSettings
    from pipeline.viewpoint import IMAGE_PLANE_LIMIT, on_image, plane_tilts

    settings, names = AngleSettings(), result.keypoint_names
    placed = on_image(result.world_keypoints, result.keypoints, settings.min_confidence)
    ours = np.stack([plane_tilts(placed, result.keypoints, names, settings)[name] for name in KNEES], axis=-1)
    reference = truth["skeleton"] @ camera.rotation.T  # by the same rule (a straight leg: its limbs' own tilts)
    seen = np.repeat(np.isfinite(reference).all(-1)[..., None], 3, axis=-1).astype(float)  # only the confidence is read
    theirs = np.stack([plane_tilts(reference, seen, names, settings)[name] for name in KNEES], axis=-1)
    imaged = (ours <= IMAGE_PLANE_LIMIT) & np.isfinite(theirs)
    return {"median_ours": round(float(np.nanmedian(ours)), 1), "median_reference": round(float(np.nanmedian(theirs)), 1),
            "imaged_frames": int(imaged.sum()),
            "imaged_turned": round(float(np.mean(theirs[imaged] > IMAGE_PLANE_LIMIT)), 2) if imaged.any() else None}


def legs(knees: dict[str, np.ndarray]) -> np.ndarray:
    """REBA's legs score per frame from the more bent knee (standing on both feet, as the job assumes), NaN unseen."""
    from pipeline.ergonomics import reba_legs

    knee = np.fmax(knees["knee_left"], knees["knee_right"])
    return np.where(np.isnan(knee), np.nan, reba_legs(np.nan_to_num(knee)))


def compare(knees: dict[str, np.ndarray], truth: dict) -> dict:
    """MAE/p95 and mean error of both knees pooled; the share of frames whose legs score is lower and higher."""
    errors = np.concatenate([knees[name] - truth["angles"][name] for name in KNEES])
    errors = errors[np.isfinite(errors)]
    ours, theirs = legs(knees), legs(truth["angles"])
    both = np.isfinite(ours) & np.isfinite(theirs)
    return {"mae_p95": [round(float(np.abs(errors).mean()), 1), round(float(np.percentile(np.abs(errors), 95)), 1)],
            "bias": round(float(errors.mean()), 1), "legs_lower": round(float(np.mean(ours[both] < theirs[both])), 2),
            "legs_higher": round(float(np.mean(ours[both] > theirs[both])), 2)}


def run(recording: str = "single", fps: float = 30.0) -> dict:
    results, truths, calibration = accuracy.analysed(recording, fps)
    read = {camera: readings(results[camera], truth, calibration[camera]) for camera, truth in truths.items()}
    report: dict = {"recording": recording, "cameras": {}, "spread": {},
                    "planes": {camera: planes(results[camera], truth, calibration[camera]) for camera, truth in truths.items()}}
    for way in next(iter(read.values())):
        report["cameras"][way] = {camera: compare(read[camera][way], truth) for camera, truth in truths.items()}
        groups = {id(truth): truth["cameras"] for truth in truths.values()}.values()
        spreads = [np.ptp(np.stack([read[camera][way][name] for camera in group]), axis=0) for group in groups for name in KNEES]
        report["spread"][way] = round(float(np.nanmean(np.concatenate(spreads))), 1)
    return report


if __name__ == "__main__":
    accuracy.probe_main(run, __doc__)
