"""Can the trunk's foreshortening in the image tell its forward bend where BlazePose's depth cannot (filmed from behind)?

    .venv/bin/python benchmarks/trunk_depth.py [--fps 30] [--given-tilt]

On Pose2Sim's four-camera demo (:mod:`benchmarks.accuracy`), cam03 films the worker from behind and reads the trunk
15-30 degrees too far forward whatever vertical it is given: BlazePose's depth of the trunk.  Seen along the line of
sight, a trunk leaning towards or away from the camera looks shorter in the image, by the cosine of its angle out of
the image plane.  This script measures, per camera, trunk flexion's error against the triangulated reference with the
trunk's depth taken

- ``3d``: from BlazePose's world points (what the analysis uses);
- ``image``: from the image's foreshortening, the trunk's full image length being its longest over the video (its
  95th percentile: the worker standing still, the trunk at its most across the line of sight), the depth's sign
  BlazePose's;
- ``rigid``: from BlazePose's own 3D trunk held at one length (its median over the frames where BlazePose sees it
  within 20 degrees of across the view, where depth changes the length least): where BlazePose's trunk is shorter,
  the missing length is depth;

each also ``blended``: mixed with BlazePose's depth by the foreshortening's sine (how much of the trunk's length
lies in depth, so how well the image's length observes it).  The result, with the reasons the method was not
adopted, is in docs/pipeline.md ("How right the angles are").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: Frames whose trunk BlazePose sees within this many degrees of across the view give its 3D length (``rigid``).
ACROSS_DEG = 20.0
#: The trunk's longest image length over the video, as a percentile (``image``): its longest, past landmark jitter.
LONGEST_PERCENTILE = 95.0


def _trunks(world: np.ndarray, keypoints: np.ndarray, names: list[str], min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) BlazePose's world trunk (hip-mid to shoulder-mid, camera axes) and (n,) its image length in pixels."""
    from pipeline.angles import Joints

    world_joints = Joints(world, keypoints[..., 2], names, min_confidence)
    image_joints = Joints(keypoints[..., :2], keypoints[..., 2], names, min_confidence)
    trunk = world_joints.mid("left_shoulder", "right_shoulder") - world_joints.mid("left_hip", "right_hip")
    pixels = np.linalg.norm(image_joints.mid("left_shoulder", "right_shoulder") - image_joints.mid("left_hip", "right_hip"), axis=-1)
    return trunk, pixels


def foreshortened(trunk: np.ndarray, across: np.ndarray, blended: bool) -> np.ndarray:
    """``trunk`` with its depth (z) replaced by what its foreshortening says: ``across`` (n,) is the share of its length
    lying across the view (1: in the image plane); the direction across the view and the depth's sign stay BlazePose's.
    ``blended``: BlazePose's depth mixed in, weighted by how little of the length lies in depth."""
    across = np.clip(across, 1e-6, 1.0)
    sine = np.sqrt(1.0 - across**2)
    depth = np.sign(trunk[:, 2]) * np.hypot(trunk[:, 0], trunk[:, 1]) * sine / across
    weight = sine if blended else 1.0
    out = trunk.copy()
    out[:, 2] = weight * depth + (1 - weight) * trunk[:, 2]
    return out


def trunk_variants(world: np.ndarray, keypoints: np.ndarray, names: list[str], min_confidence: float) -> dict[str, np.ndarray]:
    """Each way of taking the trunk's depth (see the module's docstring): name -> (n, 3) trunk in camera axes."""
    trunk, pixels = _trunks(world, keypoints, names, min_confidence)
    length = np.linalg.norm(trunk, axis=-1)
    seen_across = np.hypot(trunk[:, 0], trunk[:, 1]) / length
    chosen = seen_across >= np.cos(np.radians(ACROSS_DEG))
    rigid = np.nanmedian(length[chosen]) if chosen.sum() >= 3 else np.nanmedian(length)
    shares = {"image": pixels / np.nanpercentile(pixels, LONGEST_PERCENTILE), "rigid": np.hypot(trunk[:, 0], trunk[:, 1]) / rigid}
    variants = {"3d": trunk}
    for name, share in shares.items():
        variants[name] = foreshortened(trunk, share, blended=False)
        variants[f"{name} blended"] = foreshortened(trunk, share, blended=True)
    return variants


def trunk_flexions(result, tilt, settings) -> dict[str, np.ndarray]:
    """Each variant's trunk flexion (degrees) for one camera's analysis, against gravity as ``tilt`` gives it."""
    from pipeline.angles import Joints, clean_angles, levelled, signed_tilt, unit

    names, keypoints = list(result.keypoint_names), np.asarray(result.keypoints)
    world = np.asarray(result.world_keypoints)
    joints = Joints(levelled(world, tilt.down), keypoints[..., 2], names, settings.min_confidence)
    up = np.tile([0.0, -1.0, 0.0], (len(world), 1))
    forward = np.cross(unit(joints["left_hip"] - joints["right_hip"]), up)
    flexions = {name: np.where(result.detected, signed_tilt(levelled(trunk, tilt.down), up, forward), np.nan)
                for name, trunk in trunk_variants(world, keypoints, names, settings.min_confidence).items()}
    return clean_angles(flexions, result.timestamps, settings)


def run(fps: float = 30.0, given_tilt: bool = False) -> dict:
    """Per variant: each camera's trunk-flexion MAE/p95 against the reference, and the cross-view spread."""
    from benchmarks import accuracy
    from pipeline.angles import AngleSettings, CameraTilt, camera_tilt

    results, _, calibration = accuracy.analysed(fps=fps)
    angle_settings = AngleSettings()
    truth = accuracy.reference(results, calibration, angle_settings.min_confidence)["angles"]["trunk_flexion"]
    flexions = {}
    for camera, result in results.items():
        tilt: CameraTilt = (calibration[camera].tilt() if given_tilt else
                            camera_tilt(np.asarray(result.world_keypoints), np.asarray(result.keypoints), list(result.keypoint_names)))
        flexions[camera] = trunk_flexions(result, tilt, angle_settings)
    report = {}
    for variant in next(iter(flexions.values())):
        series = {camera: values[variant] for camera, values in flexions.items()}
        report[variant] = {"mae_p95": {camera: accuracy.mae_p95(np.abs(values - truth)) for camera, values in series.items()},
                           "spread": round(float(np.nanmean(np.ptp(np.stack(list(series.values())), axis=0))), 1)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fps", type=float, default=30.0, help="frames analysed per second (the videos have 60)")
    parser.add_argument("--given-tilt", action="store_true", help="level each camera by its calibrated pitch and roll")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(json.dumps(run(args.fps, args.given_tilt), indent=1))


if __name__ == "__main__":
    main()
