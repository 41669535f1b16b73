"""ergo's BlazePose against MediaPipe's own pose solution, end to end, on clips of people made here.

    make reference
    .venv/bin/python benchmarks/pose_parity.py [--quality medium] [--clips demo mirrored ...]

For each clip, both sides read the same sampled frames (``pipeline.video.sample_indices``):

* ergo: ``analyze_video`` as ``ergo analyze`` runs it (chunked, batched, BlazePose ``full``);
* MediaPipe: ``mp.solutions.pose`` (``model_complexity=1``, the same ``.tflite`` files) in video mode, in
  its own environment (``benchmarks/mediapipe_reference.py``), with landmark smoothing on and off.

MediaPipe's landmarks then go through ergo's own angles and scoring (``pipeline.analysis.assemble``),
so any difference in angles or scores comes from the landmarks alone.  Printed per clip and smoothing
setting (issue 11's targets in brackets):

* ``found_agree``       share of frames where both found the person or neither did   (>= 0.98)
* ``joints_mean/p95``   main joints (nose, ears, shoulders, elbows, wrists, hips), distance as a fraction of
                        the torso length (MediaPipe's shoulder-centre to hip-centre), and in pixels
                                                                                     (<= 0.02 / 0.05)
* ``world_mean_m``      3D world points, mean distance in metres                     (<= 0.02)
* ``visibility_agree``  points both call visible (>= 0.5) or both not                (>= 0.98)
* ``angles``            mean and largest difference per angle, degrees
* ``rula_same / reba_same``   frames scored by both with identical scores            (>= 0.95)
* ``scored_by_one``     frames scored by exactly one side                            (<= 0.02)

Clips (made from the demo's person, a real photograph, so both detectors see a person): ``demo`` (leaning
over), ``mirrored``, ``small`` (a third of the height), ``dark``, ``rotated`` (20 degrees), ``cut_off`` (legs
out of the frame), ``two_people`` (a smaller second person beside the main one).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
REFERENCE_PYTHON = REPO / ".reference-venv" / "bin" / "python"
MAIN_JOINTS = ("nose", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
               "left_wrist", "right_wrist", "left_hip", "right_hip")
FPS = 10


def _shrink(frame: np.ndarray, scale: float) -> np.ndarray:
    from skimage.transform import rescale

    return (rescale(frame, scale, channel_axis=2, anti_aliasing=True) * 255).astype(np.uint8)


def clip_frames(name: str):
    """The clip's frames, from the demo's person (768x576)."""
    from skimage.transform import rotate

    from pipeline import demo

    for frame in demo.frames(fps=FPS):
        if name == "demo":
            yield frame
        elif name == "mirrored":
            yield np.ascontiguousarray(frame[:, ::-1])
        elif name == "dark":
            yield (frame * 0.35).astype(np.uint8)
        elif name == "rotated":
            yield (rotate(frame, 20, mode="edge") * 255).astype(np.uint8)
        elif name == "cut_off":
            canvas = np.full_like(frame, demo.BACKGROUND)
            canvas[: frame.shape[0] // 2 + 90] = frame[frame.shape[0] // 2 - 90:]  # the lower half goes out of the frame
            yield canvas
        elif name == "small":
            canvas = np.full_like(frame, demo.BACKGROUND)
            small = _shrink(frame, 1 / 3)
            canvas[-small.shape[0]:, 200:200 + small.shape[1]] = small
            yield canvas
        elif name == "two_people":
            canvas = np.full((frame.shape[0], frame.shape[1] * 3 // 2, 3), demo.BACKGROUND, np.uint8)
            canvas[:, : frame.shape[1]] = frame
            other = _shrink(frame, 0.55)
            canvas[-other.shape[0]:, -other.shape[1]:] = other
            yield canvas
        else:
            raise SystemExit(f"unknown clip {name}")


CLIPS = ("demo", "mirrored", "small", "dark", "rotated", "cut_off", "two_people")


def make_clip(path: Path, name: str) -> Path:
    from pipeline.video import write_video

    return write_video(path, clip_frames(name), fps=FPS, gop=FPS)


def mediapipe(video: Path, indices: np.ndarray, smooth: bool, scratch: Path) -> dict:
    np.save(scratch / "indices.npy", indices)
    out = scratch / f"mediapipe-{'smooth' if smooth else 'raw'}.npz"
    command = [str(REFERENCE_PYTHON), str(REPO / "benchmarks" / "mediapipe_reference.py"), str(video), str(scratch / "indices.npy"), str(out)]
    subprocess.run(command + ([] if smooth else ["--no-smooth"]), check=True, capture_output=True)
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


def scored_from(reference: dict, info, options, model) -> dict:
    """ergo's angles and scores computed from MediaPipe's landmarks (the same code as for ergo's own)."""
    from pipeline.analysis import ChunkResult, assemble
    from pipeline.pose.base import PoseOutput

    count = len(reference["found"])
    pose = PoseOutput.empty(count, 1, 33, world=True)
    found = reference["found"]
    pose.keypoints[found, 0] = np.concatenate([reference["landmarks"][found][..., :2], reference["landmarks"][found][..., 3:4]], axis=-1)
    pose.world[found, 0] = reference["world"][found]
    xy = reference["landmarks"][found][..., :2]
    pose.boxes[found, 0] = np.concatenate([xy.min(1), xy.max(1), np.ones((found.sum(), 1))], axis=1)
    return assemble(info, options, model, [ChunkResult(0, reference["indices"], pose)], None)


def compare(ours: dict, theirs: dict, reference: dict, names: list[str], scale: float) -> dict:
    """``scale``: the video's pixels per pixel of the frames ergo analysed (it reads them at the preset's size)."""
    main = [names.index(joint) for joint in MAIN_JOINTS]
    both = ours["detected"] & theirs["detected"]
    mine, ref = ours["keypoints"][both][:, main, :2] * scale, reference["landmarks"][both][:, main, :2]
    shoulders = reference["landmarks"][:, [11, 12], :2].mean(1)
    hips = reference["landmarks"][:, [23, 24], :2].mean(1)
    torso = np.linalg.norm(shoulders - hips, axis=-1)[both]
    distance = np.linalg.norm(mine - ref, axis=-1)
    relative = distance / torso[:, None]
    world = np.linalg.norm(ours["world_keypoints"][both][:, main] - reference["world"][both][:, main], axis=-1)
    visible = (ours["keypoints"][both][..., 2] >= 0.5) == (reference["landmarks"][both][..., 3] >= 0.5)
    angles = {}
    for angle, values in ours["angles"].items():
        difference = np.abs(values - theirs["angles"][angle])
        if np.isfinite(difference).any():
            angles[angle] = [round(float(np.nanmean(difference)), 1), round(float(np.nanmax(difference)), 1)]
    rula_ours, rula_theirs = ours["rula"]["grand_score"], theirs["rula"]["grand_score"]
    reba_ours, reba_theirs = ours["reba"]["reba_score"], theirs["reba"]["reba_score"]
    scored = np.isfinite(rula_ours) & np.isfinite(rula_theirs)
    one = np.isfinite(rula_ours) ^ np.isfinite(rula_theirs)

    def share(mask) -> float | None:
        return round(float(mask.mean()), 3) if mask.size else None

    return {"frames": int(len(both)), "found_agree": share(ours["detected"] == theirs["detected"]),
            "joints_mean": round(float(relative.mean()), 3) if relative.size else None,
            "joints_p95": round(float(np.percentile(relative, 95)), 3) if relative.size else None,
            "joints_mean_px": round(float(distance.mean()), 1) if distance.size else None,
            "world_mean_m": round(float(world.mean()), 3) if world.size else None,
            "visibility_agree": share(visible), "angles": angles,
            "rula_same": share(rula_ours[scored] == rula_theirs[scored]), "reba_same": share(reba_ours[scored] == reba_theirs[scored]),
            "scored_by_one": share(one)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", default="medium")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=CLIPS)
    args = parser.parse_args()
    if not REFERENCE_PYTHON.exists():
        sys.exit("MediaPipe's environment is missing: run `make reference` first.")
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.analysis import AnalysisOptions, Plan, analyze_video
    from pipeline.pose import load_pose_model
    from pipeline.presets import get_preset

    model = load_pose_model(AnalysisSettings().pose("blazepose"))
    options = AnalysisOptions(get_preset(args.quality))
    report = {}
    with tempfile.TemporaryDirectory(prefix="ergo-parity-") as folder:
        scratch = Path(folder)
        for name in args.clips:
            video = make_clip(scratch / f"{name}.mp4", name)
            plan = Plan.of(video, options)
            indices = np.concatenate(plan.chunks)
            ours = analyze_video(video, model, options)
            report[name] = {}
            for smooth in (False, True):
                reference = {**mediapipe(video, indices, smooth, scratch), "indices": indices}
                theirs = scored_from(reference, plan.info, options, model)
                report[name]["smoothed" if smooth else "unsmoothed"] = compare(ours, theirs, reference, list(model.keypoint_names),
                                                                               plan.info.width / plan.size[0])
            print(name, json.dumps(report[name]), flush=True, file=sys.stderr)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
