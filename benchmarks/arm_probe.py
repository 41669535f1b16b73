"""The upper arms and elbows against the four-camera reference, per camera, with the poses analysed once and cached.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/arm_probe.py [single|multi] [--fps 30] [--cache /tmp/arm]

The poses (BlazePose, ``--fps`` frames per second) of each camera are cached in ``--cache``; every run scores them again with the
checked-out angle code (:func:`pipeline.analysis.score_poses`, as a re-score does) and compares with the reference
of ``benchmarks/accuracy.py`` (whose angles use the same code).  Prints per camera the upper arm's and elbow's
MAE/p95 (degrees), the share of frames whose RULA upper-/lower-arm score differs from the reference's, and RULA/REBA
equal.
"""
import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import accuracy  # noqa: E402


def poses(recording: str, cache: Path, fps: float = 30.0) -> dict:
    """Each camera's analysis, from the cache or analysed now."""
    path = cache / f"{recording}.pkl" if fps == 30.0 else cache / f"{recording}-{fps:g}fps.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    import torch

    torch.set_num_threads(1)
    results = accuracy.analysed(recording, fps)[0]
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(results))
    return results


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("recording", nargs="?", default="single", choices=accuracy.RECORDINGS)
    parser.add_argument("--fps", type=float, default=30.0, help="frames analysed per second (the videos have 60)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/arm"))
    args = parser.parse_args()
    from pipeline.angles import AngleSettings
    from pipeline.assessment import AssessmentParams, score_frames

    results = rescored(poses(args.recording, args.cache, args.fps), args.fps)
    folder = accuracy.fetch_demo(accuracy.CACHE, args.recording)
    calibration = accuracy.read_qca(folder / "calibration" / "Calib.qca.txt")
    truths = accuracy.references(results, calibration, AngleSettings().min_confidence)
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
              f" elbow {triangulated_only(results[camera], truth, 'elbow')}")
    print("spread", report["spread"])


if __name__ == "__main__":
    main()
