"""ergo's BlazePose against MediaPipe's own pose solution, on clips and photos of people made here.

    make reference
    .venv/bin/python benchmarks/pose_parity.py [--quality medium] [--clips demo mirrored ...]

Both sides read the same pixels: the frames ergo's pipeline decodes (sampled and resized by the preset) are
handed to MediaPipe's pose graph (``mp.solutions.pose``, ``model_complexity=1``, the same ``.tflite`` files) in
its own environment (``benchmarks/mediapipe_reference.py``), each with its real time.  Three comparisons:

* ``pipeline``: ``analyze_video`` as ``ergo analyze`` runs it (chunked, tracking through the chunks) against
  MediaPipe's video mode, each smoothing setting against MediaPipe's same setting;
* ``floor``: MediaPipe against itself, on the same frames with three pixels per frame one level brighter or
  darker (the median over three such variants).  Tracking feeds each frame's answer into the next frame's crop, and on some people (a photo that shows
  no legs, below) the landmark network turns sub-pixel differences into large ones: this is how closely any
  reimplementation can follow MediaPipe's track, however exact;
* ``stepwise``: ergo's landmark step and filters fed MediaPipe's own regions frame by frame: the whole of
  MediaPipe's video mode (crop, network, heatmap refinement, projection, filters, the next region), without the
  feedback that makes tracks drift apart.  ``region_px`` is the largest distance between the next-frame regions
  (centre, or side), ``joints_max`` the largest landmark difference.

MediaPipe's landmarks go through ergo's own angles and scoring (``pipeline.analysis.assemble``), so differences
in angles or scores come from the landmarks alone.  Per comparison (issue 11's targets in brackets):

* ``found_agree``       share of frames where both found the person or neither did   (>= 0.98)
* ``other_person``      frames where both found someone, but not the same person (each chooses whom to follow)
* ``joints_mean/p95``   main joints (nose, ears, shoulders, elbows, wrists, hips), distance as a fraction of
                        the torso length (MediaPipe's shoulder-centre to hip-centre), and in pixels
                                                                                     (<= 0.02 / 0.05)
* ``world_mean_m``      3D world points, mean distance in metres                     (<= 0.02)
* ``visibility_agree``  points both call visible (>= 0.5) or both not                (>= 0.98)
* ``angles``            mean and largest difference per angle, degrees
* ``rula_same / reba_same``   frames scored by both with identical scores            (>= 0.95)
* ``scored_by_one``     frames scored by exactly one side                            (<= 0.02)

Clips (made from the demo's person, a real photograph of the upper body, so both detectors see a person):
``demo`` (leaning over), ``mirrored``, ``small`` (a third of the height), ``dark``, ``rotated`` (20 degrees),
``cut_off`` (the lower half out of the frame), ``two_people`` (a smaller second person beside the main one), ``lost`` (nobody in the picture
from 5 to 7 s: the tracker loses the person and finds them again);
and ``figure``, a full-body figure (a rendered avatar from the ``@vladmandic/human`` npm package, fetched with
``npm pack`` by ``benchmarks/preset_consistency.py``) leaning over and back.
Photos (``static``, MediaPipe's static image mode against ``BlazePose.predict``): the astronaut upright, turned,
mirrored and small.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pipeline.result_model import AnalysisResult

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
REFERENCE_PYTHON = REPO / ".reference-venv" / "bin" / "python"
MAIN_JOINTS = ("nose", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
               "left_wrist", "right_wrist", "left_hip", "right_hip")
FPS = 10


def _indices(*joints: str) -> list[int]:
    """BlazePose's indices of ``joints`` (MediaPipe's landmarks come in the same order)."""
    from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS

    return [BLAZEPOSE_KEYPOINTS.index(joint) for joint in joints]


def torso(points: np.ndarray) -> np.ndarray:
    """Shoulder-centre to hip-centre distance of (..., 33, >=2) landmarks: the unit the joints are measured in."""
    shoulders, hips = _indices("left_shoulder", "right_shoulder"), _indices("left_hip", "right_hip")
    return np.linalg.norm(points[..., shoulders, :2].mean(-2) - points[..., hips, :2].mean(-2), axis=-1)


def _shrink(frame: np.ndarray, scale: float) -> np.ndarray:
    from skimage.transform import rescale

    return (rescale(frame, scale, channel_axis=2, anti_aliasing=True) * 255).astype(np.uint8)


def figure_frames():
    """A full-body figure (the avatar ``benchmarks/preset_consistency.py`` fetches) leaning over and back as the
    demo's person does, drifting sideways, feet in the frame (960x720)."""
    from skimage.transform import rotate

    from benchmarks.preset_consistency import figure
    from pipeline import demo

    person = figure()
    for index in range(int(demo.SECONDS * FPS)):
        seconds = index / FPS
        canvas = np.zeros((720, 960, 3), np.uint8)
        left = 300 + int(60 * np.sin(seconds / 2))
        canvas[720 - person.shape[0] - 20:700, left:left + person.shape[1]] = person[:700 - (720 - person.shape[0] - 20)]
        feet = (left + person.shape[1] / 2, 700)
        yield (rotate(canvas, -demo.lean_at(seconds) * 0.6, center=feet, mode="constant") * 255).astype(np.uint8)


#: Seconds of the ``lost`` clip with nobody in the picture.
LOST_S = (5.0, 7.0)


def clip_frames(name: str):
    """The clip's frames, from the demo's person (768x576), or the full-body figure."""
    from skimage.transform import rotate

    from pipeline import demo

    if name == "figure":
        yield from figure_frames()
        return
    for index, frame in enumerate(demo.frames(fps=FPS)):
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
        elif name == "lost":  # the person leaves for a second and comes back: the tracker loses and re-finds them
            yield np.full_like(frame, demo.BACKGROUND) if LOST_S[0] <= index / FPS < LOST_S[1] else frame
        elif name == "two_people":
            canvas = np.full((frame.shape[0], frame.shape[1] * 3 // 2, 3), demo.BACKGROUND, np.uint8)
            canvas[:, : frame.shape[1]] = frame
            other = _shrink(frame, 0.55)
            canvas[-other.shape[0]:, -other.shape[1]:] = other
            yield canvas
        else:
            raise SystemExit(f"unknown clip {name}")


CLIPS = ("demo", "mirrored", "small", "dark", "rotated", "cut_off", "two_people", "lost", "figure")


def make_clip(path: Path, name: str) -> Path:
    from pipeline.video import write_video

    return write_video(path, clip_frames(name), fps=FPS, gop=FPS)


def mediapipe(frames: Path, times: Path, scratch: Path, *, smooth: bool = True, static: bool = False) -> dict:
    """MediaPipe's answers for the frames saved in ``frames``/``times``, in its own environment."""
    out = scratch / f"mediapipe-{frames.stem}-{'static' if static else 'smooth' if smooth else 'raw'}.npz"
    command = [str(REFERENCE_PYTHON), str(REPO / "benchmarks" / "mediapipe_reference.py"), str(frames), str(times), str(out)]
    subprocess.run(command + ([] if smooth else ["--no-smooth"]) + (["--static"] if static else []), check=True, capture_output=True)
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


def analysed_frames(video: Path, plan, scratch: Path) -> tuple[Path, Path]:
    """The frames ergo's pipeline reads for ``plan`` (decoded and resized as it decodes them), and their times."""
    from pipeline.video import FrameReader, frame_times_us

    indices = plan.indices
    frames, times = scratch / "frames.npy", scratch / "times.npy"
    np.save(frames, FrameReader(video, plan.info, plan.size).read(indices))
    np.save(times, frame_times_us(indices, plan.info.fps))
    return frames, times


#: Pixels per frame the floor's frames differ in, by one level each, and how many such variants are measured.
FLOOR_PIXELS = 3
FLOOR_SEEDS = (1, 2, 3)


def perturbed(frames: Path, seed: int) -> Path:
    """The frames with ``FLOOR_PIXELS`` random pixels per frame one level brighter or darker (in one channel)."""
    rng = np.random.default_rng(seed)
    changed = np.load(frames)
    count, height, width = changed.shape[:3]
    for frame in changed:
        ys, xs, channels = rng.integers(height, size=FLOOR_PIXELS), rng.integers(width, size=FLOOR_PIXELS), rng.integers(3, size=FLOOR_PIXELS)
        levels = frame[ys, xs, channels].astype(np.int16)
        frame[ys, xs, channels] = np.where(levels == 255, 254, np.where(levels == 0, 1, levels + rng.choice([-1, 1], FLOOR_PIXELS)))
    path = frames.with_name(f"{frames.stem}-perturbed-{seed}.npy")
    np.save(path, changed)
    return path


def floor(frames: Path, times: Path, scratch: Path, smooth: bool, theirs: AnalysisResult, reference: dict, plan, options, model) -> dict:
    """MediaPipe against itself on frames ``FLOOR_PIXELS`` pixels apart, for each of ``FLOOR_SEEDS``: the median of
    each figure (the angles of the first)."""
    runs = []
    for seed in FLOOR_SEEDS:
        again = {**mediapipe(perturbed(frames, seed), times, scratch, smooth=smooth), "indices": reference["indices"]}
        runs.append(compare(scored_from(again, plan.info, options, model), theirs, reference))
    summary = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            summary[key] = round(float(np.median([run[key] for run in runs if run[key] is not None])), 4)
    return summary


def stepwise(model, frames: np.ndarray, times: np.ndarray, reference: dict, smooth: bool) -> dict:
    """ergo's step of MediaPipe's video mode fed MediaPipe's own regions: for each frame, the region MediaPipe's
    landmark network read (from its detector, else from the frame before), ergo's landmarks in it and ergo's
    filters over them; compared with MediaPipe's landmarks and with the region MediaPipe placed for the next
    frame."""
    from pipeline.pose.blazepose import BODY, LandmarkAnswer, Tracker
    from pipeline.pose.blazepose_detector import RegionOfInterest

    tracker = Tracker(smooth)
    detected, placed = reference["region_from_detection"], reference["region_from_landmarks"]
    main = _indices(*MAIN_JOINTS)
    found, region_px, joints, world, visible = np.zeros(len(frames), bool), [], [], [], []
    refound = {"visibility": [], "world_m": []}  # the first frame after each loss: what the kept filters carry
    was_lost = False
    for position, time_us in enumerate(times):
        source = detected[position] if np.isfinite(detected[position]).all() else placed[position - 1] if position else detected[position]
        if not np.isfinite(source).all():
            tracker.lose()
            was_lost = position > 0
            continue
        region = RegionOfInterest(source[:2].copy(), float(source[2]), float(source[4]))
        answer = model.landmarks.predict(frames, [region], [position])
        step = LandmarkAnswer(answer["landmarks"][0], answer["world"][0], float(answer["presence"][0]))
        if not step.present:
            tracker.lose()
            was_lost = position > 0
            continue
        step = tracker.follow(step, int(time_us))
        found[position] = True
        if not reference["found"][position]:
            continue
        theirs = reference["landmarks"][position]
        joints.append(np.linalg.norm(step.landmarks[main, :2] - theirs[main, :2], axis=-1).max() / torso(theirs))  # the worst joint
        visible.append((step.landmarks[:BODY, 2] >= 0.5) == (theirs[:, 3] >= 0.5))
        world.append(np.linalg.norm(step.world[:BODY] - reference["world"][position], axis=-1).max())
        if was_lost:
            refound["visibility"].append(float(np.abs(step.landmarks[:BODY, 2] - theirs[:, 3]).max()))
            refound["world_m"].append(world[-1])
            was_lost = False
        after = placed[position]
        region_px.append(max(np.linalg.norm(tracker.region.center - after[:2]), abs(tracker.region.size - after[2])))
    return {"frames": len(frames), "found_agree": round(float((found == reference["found"]).mean()), 3),
            "region_px": round(float(max(region_px, default=np.nan)), 3), "joints_mean": round(float(np.mean(joints)), 5) if joints else None,
            "joints_max": round(float(max(joints, default=np.nan)), 4), "world_max_m": round(float(max(world, default=np.nan)), 4),
            "visibility_agree": round(float(np.mean(visible)), 4) if visible else None,
            "refound": len(refound["visibility"]),
            "refound_visibility_max": round(max(refound["visibility"], default=np.nan), 4),
            "refound_world_max_m": round(max(refound["world_m"], default=np.nan), 4)}


def scored_from(reference: dict, info, options, model) -> AnalysisResult:
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


def compare(ours: AnalysisResult, theirs: AnalysisResult, reference: dict) -> dict:
    """ergo's result against MediaPipe's, on the frames where both follow the same person (hip centres less than
    half a torso apart: with two people in the picture each side chooses whom to follow)."""
    main, hips = _indices(*MAIN_JOINTS), _indices("left_hip", "right_hip")
    reference_xy = reference["landmarks"][..., :2]
    length = torso(reference_xy)
    apart = np.linalg.norm(ours.keypoints[:, hips, :2].mean(1) - reference_xy[:, hips].mean(1), axis=-1)
    both = ours.detected & theirs.detected
    same = both & (apart < 0.5 * length)
    distance = np.linalg.norm(ours.keypoints[same][:, main, :2] - reference_xy[same][:, main], axis=-1)
    relative = distance / length[same, None]
    world = np.linalg.norm(ours.world_keypoints[same] - reference["world"][same], axis=-1)
    visible = (ours.keypoints[same][..., 2] >= 0.5) == (reference["landmarks"][same][..., 3] >= 0.5)
    angles = {}
    for angle, values in ours.angles.items():
        difference = np.abs(values - theirs.angles[angle])[same]
        if np.isfinite(difference).any():
            angles[angle] = [round(float(np.nanmean(difference)), 1), round(float(np.nanmax(difference)), 1)]
    rula_ours, rula_theirs = ours.rula.grand_score, theirs.rula.grand_score
    reba_ours, reba_theirs = ours.reba.reba_score, theirs.reba.reba_score
    scored = np.isfinite(rula_ours) & np.isfinite(rula_theirs) & same
    one = np.isfinite(rula_ours) ^ np.isfinite(rula_theirs)

    def share(mask) -> float | None:
        return round(float(mask.mean()), 3) if mask.size else None

    def rounded(values: np.ndarray, statistic, digits: int = 3) -> float | None:
        return round(float(statistic(values)), digits) if values.size else None

    return {"frames": int(len(both)), "found_agree": share(ours.detected == theirs.detected),
            "other_person": share((both & ~same)[both]) if both.any() else None,
            "joints_mean": rounded(relative, np.mean), "joints_p95": rounded(relative, lambda v: np.percentile(v, 95)),
            "joints_mean_px": rounded(distance, np.mean, 2), "world_mean_m": rounded(world, np.mean, 4),
            "visibility_agree": share(visible), "angles": angles,
            "rula_same": share(rula_ours[scored] == rula_theirs[scored]), "reba_same": share(reba_ours[scored] == reba_theirs[scored]),
            "scored_by_one": share(one)}


def photos() -> np.ndarray:
    """Still photos of the demo's person: upright, turned by 30 degrees, mirrored, and a third of the size."""
    from skimage.transform import rotate

    from pipeline import demo

    upright = next(demo.frames(fps=FPS))
    small = np.full_like(upright, demo.BACKGROUND)
    shrunk = _shrink(upright, 1 / 3)
    small[-shrunk.shape[0]:, 300:300 + shrunk.shape[1]] = shrunk
    return np.stack([upright, (rotate(upright, 30, mode="edge") * 255).astype(np.uint8), np.ascontiguousarray(upright[:, ::-1]), small])


def still(model, folder: Path) -> dict:
    """``BlazePose.predict`` (each photo on its own) against MediaPipe's static image mode."""
    frames, times = folder / "photos.npy", folder / "photo-times.npy"
    np.save(frames, photos())
    np.save(times, np.arange(1, 5) * 1_000_000)
    reference = mediapipe(frames, times, folder, static=True)
    ours = model.predict(np.load(frames))
    found = np.isfinite(ours.keypoints[:, 0, 0, 0])
    main, theirs = _indices(*MAIN_JOINTS), reference["landmarks"]
    relative = np.linalg.norm(ours.keypoints[:, 0, main, :2] - theirs[:, main, :2], axis=-1) / torso(theirs)[:, None]
    return {"photos": len(found), "found_agree": round(float((found == reference["found"]).mean()), 3),
            "joints_mean": round(float(np.nanmean(relative)), 5), "joints_max": round(float(np.nanmax(relative)), 5),
            "world_max_m": round(float(np.nanmax(np.linalg.norm(ours.world[:, 0] - reference["world"], axis=-1))), 5),
            "visibility_agree": round(float(np.nanmean((ours.keypoints[:, 0, :, 2] >= 0.5) == (theirs[..., 3] >= 0.5))), 4)}


def parity(names: list[str], quality: str, folder: Path, on_clip=None) -> dict:
    """Every comparison for each clip in ``names``, and for the photos."""
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.analysis import AnalysisOptions, Plan, analyze_video
    from pipeline.pose import load_pose_model
    from pipeline.presets import get_preset

    options = AnalysisOptions(get_preset(quality))
    models = {smooth: load_pose_model(AnalysisSettings(smooth_landmarks=smooth).pose("blazepose")) for smooth in (False, True)}
    report = {"static": still(models[False], folder)}
    if on_clip:
        on_clip("static", report["static"])
    for name in names:
        scratch = folder / name
        scratch.mkdir(parents=True, exist_ok=True)
        video = make_clip(scratch / f"{name}.mp4", name)
        plan = Plan.of(video, options)
        frames, times = analysed_frames(video, plan, scratch)
        report[name] = {}
        for smooth, model in models.items():
            setting = "smoothed" if smooth else "unsmoothed"
            indices = plan.indices
            reference = {**mediapipe(frames, times, scratch, smooth=smooth), "indices": indices}
            theirs = scored_from(reference, plan.info, options, model)
            report[name][setting] = {
                "pipeline": compare(analyze_video(video, model, options), theirs, reference),
                "floor": floor(frames, times, scratch, smooth, theirs, reference, plan, options, model),
                "stepwise": stepwise(model, np.load(frames), np.load(times), reference, smooth)}
        if on_clip:
            on_clip(name, report[name])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", default="medium")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=CLIPS)
    args = parser.parse_args()
    if not REFERENCE_PYTHON.exists():
        sys.exit("MediaPipe's environment is missing: run `make reference` first.")
    with tempfile.TemporaryDirectory(prefix="ergo-parity-") as folder:
        report = parity(args.clips, args.quality, Path(folder),
                        on_clip=lambda name, figures: print(name, json.dumps(figures), flush=True, file=sys.stderr))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
