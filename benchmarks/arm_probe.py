"""The upper arms and elbows against the four-camera reference, per camera, with the poses analysed once and cached.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/arm_probe.py [single|multi] [--fps 30] [--cache /tmp/arm] [--misses]

The poses (BlazePose, ``--fps`` frames per second) of each camera and the references of ``benchmarks/accuracy.py``
(:func:`benchmarks.accuracy.analysed`: with ``multi``, each person's from all four cameras, two of them painted) are
cached in ``--cache``; every run scores the poses again with the checked-out angle code
(:func:`pipeline.analysis.score_poses`, as a re-score does).  The references' angles are the cache's: remove it after
changing how :func:`pipeline.angles.compute_world_angles` measures.  Prints per camera the upper arm's and elbow's
MAE/p95 (degrees), the share of frames whose RULA upper-/lower-arm score differs from the reference's, RULA/REBA
equal, and the upper arm's MAE/p95 where the reference knows the arm's sign
(:func:`benchmarks.accuracy.settled_arm_signs`).  ``--misses`` lists each frame whose upper arm is off by more than
:data:`MISS` degrees: ours, the reference's, the camera's azimuth about the worker (:func:`pipeline.viewpoint.azimuths`),
the arm's direction in the body's frame (ahead, out to the side, down: unit components), whether the reference's
sign is settled, and the miss's kind (:func:`kind`).
"""
import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import accuracy  # noqa: E402


def poses(recording: str, cache: Path, fps: float = 30.0) -> tuple[dict, dict, dict]:
    """Each camera's analysis, its reference and the calibration (:func:`benchmarks.accuracy.analysed`), from the cache
    or analysed now."""
    path = cache / f"{recording}-views.pkl" if fps == 30.0 else cache / f"{recording}-{fps:g}fps-views.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    import torch

    torch.set_num_threads(1)
    analysed = accuracy.analysed(recording, fps)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(analysed))
    return analysed


def rescored(results: dict, fps: float = 30.0) -> dict:
    """Each camera's stored poses scored with the angle code checked out."""
    from pipeline.analysis import AnalysisOptions, score_poses
    from pipeline.presets import Preset
    from pipeline.rescore import stored_poses

    options = AnalysisOptions(Preset("accuracy", fps, f"{fps:g} frames per second"))
    return {camera: score_poses(stored_poses(result), options, video=result.video.model_dump(), model=result.model.model_dump(),
                                damaged=[], job_id=None) for camera, result in results.items()}


#: The points each arm angle of the reference stands on (the upper arm is measured against the trunk).
STANDS_ON = {"upper_arm": ("shoulder", "elbow", "hip"), "elbow": ("shoulder", "elbow", "wrist")}


def triangulated_only(result, truth: dict, angle: str) -> list[float] | None:
    """MAE/p95 over the frames whose reference points were triangulated, not bridged by the reference's gap filling
    (which interpolates up to 0.5 s of frames that fewer than two cameras saw, from whatever the frames either side
    held)."""
    names = list(result.keypoint_names)
    errors = []
    for side in ("left", "right"):
        joints = [names.index(f"{side}_{part}") for part in STANDS_ON[angle]] + [names.index(f"{other}_hip") for other in ("left", "right")]
        seen = np.isfinite(truth["skeleton"][:, joints]).all(axis=(-2, -1))
        errors.append(np.abs(np.asarray(result.angles[f"{angle}_{side}"]) - truth["angles"][f"{angle}_{side}"])[seen])
    return accuracy.mae_p95(np.concatenate(errors))


#: A frame's upper arm off the reference by more than this (degrees) is listed by ``--misses``: the issue's p95 target.
MISS = 45.0


def kind(ours: float, reference: float, settled: bool) -> str:
    """What a miss is: ``unsettled`` where the reference's own sign turns with a view left out; ``sign`` where the
    sizes agree (within half the miss) and only the sign differs (one camera's depth); else ``magnitude``."""
    if not settled:
        return "unsettled"
    return "sign" if np.sign(ours) != np.sign(reference) and abs(abs(ours) - abs(reference)) < MISS / 2 else "magnitude"


def body_directions(result, side: str) -> np.ndarray:
    """(n, 3) the upper arm's unit direction in the body's frame as the camera's 3D points give it: ahead (the chest's
    forward), out to the side, down the trunk."""
    from pipeline.angles import Joints, unit

    joints = Joints(result.world_keypoints, result.keypoints[..., 2], result.keypoint_names, result.angle_settings.min_confidence)
    trunk = unit(joints.mid("left_shoulder", "right_shoulder") - joints.mid("left_hip", "right_hip"))
    left = unit(joints["left_shoulder"] - joints["right_shoulder"])
    forward, outward = unit(np.cross(left, trunk)), left if side == "left" else -left
    arm = unit(joints[f"{side}_elbow"] - joints[f"{side}_shoulder"])
    return np.stack([np.sum(arm * forward, -1), np.sum(arm * outward, -1), -np.sum(arm * trunk, -1)], -1)


def misses(result, truth: dict, camera: str) -> list[str]:
    """The frames of one camera whose upper arm misses the reference by more than :data:`MISS`, one line each."""
    from pipeline.angles import camera_tilt
    from pipeline.rescore import stored_scene
    from pipeline.viewpoint import azimuths

    names, settings = list(result.keypoint_names), result.angle_settings
    tilt = camera_tilt(result.world_keypoints, result.keypoints, names, settings, stored_scene(result))
    azimuth = azimuths(result.world_keypoints, result.keypoints, names, settings, tilt)
    lines = []
    for side in ("left", "right"):
        name = f"upper_arm_{side}"
        ours, reference, settled = np.asarray(result.angles[name]), truth["angles"][name], truth["settled_arm_signs"][name]
        directions = body_directions(result, side)
        for frame in np.flatnonzero(np.abs(ours - reference) > MISS):
            lines.append(f"  {camera} {side:5} frame {frame:2}: ours {ours[frame]:6.1f} reference {reference[frame]:6.1f} "
                         f"azimuth {azimuth[frame]:5.1f} direction (ahead, aside, down) {np.round(directions[frame], 2)} "
                         f"settled {bool(settled[frame])} -> {kind(ours[frame], reference[frame], bool(settled[frame]))}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("recording", nargs="?", default="single", choices=accuracy.RECORDINGS)
    parser.add_argument("--fps", type=float, default=30.0, help="frames analysed per second (the videos have 60)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/arm"))
    parser.add_argument("--misses", action="store_true", help=f"list the frames whose upper arm is off by more than {MISS:g} degrees")
    args = parser.parse_args()
    from pipeline.assessment import AssessmentParams, score_frames

    analysed, truths, calibration = poses(args.recording, args.cache, args.fps)
    results = rescored(analysed, args.fps)
    report = accuracy.compare(results, truths, calibration)
    for camera, truth in truths.items():
        row = report["cameras"][camera]
        rula, _, _ = score_frames(truth["angles"], AssessmentParams())
        parts = []
        for part in ("upper_arm", "lower_arm"):
            ours, theirs = np.asarray(getattr(results[camera].rula, part)), np.asarray(rula[part])
            both = np.isfinite(ours) & np.isfinite(theirs)
            parts.append(f"{part} {np.mean(ours[both] != theirs[both]):.2f}")
        print(f"{args.recording} {camera} az {row['calibrated_azimuth']:5.0f} upper_arm {row['mae_p95']['upper_arm']} "
              f"elbow {row['mae_p95']['elbow']} | {' '.join(parts)} | RULA {row['rula']['equal']} REBA {row['reba']['equal']}"
              f" | triangulated frames only: upper_arm {triangulated_only(results[camera], truth, 'upper_arm')}"
              f" elbow {triangulated_only(results[camera], truth, 'elbow')} | sign settled: upper_arm {row['upper_arm_sign_settled']}")
        for line in misses(results[camera], truth, camera) if args.misses else []:
            print(line)
    print("spread", report["spread"])


if __name__ == "__main__":
    main()
