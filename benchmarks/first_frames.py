"""How far the first frames' landmarks lie from MediaPipe's, and how far they would under other, equally correct
detector arithmetic: what the parity test's first-frames bound should be.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/first_frames.py [--clips demo ...] [--draws 20] [--quality low]

For each clip of ``benchmarks/pose_parity.py`` (made the same way, read as the pipeline reads it at ``--quality``),
MediaPipe's video mode runs on the first ``FRAMES`` analysed frames, with the smoothing on and off, and ergo's
BlazePose tracks the same frames (``BlazePose.track``, as the first chunk of ``analyze_video`` runs it) with:

* ``dense``: the fused detector with oneDNN's dense 1x1 convolutions;
* ``sparse``: the fused detector with the sparse 1x1 kernel (``pipeline/pose/sparse_kernel.py``), where built;
* ``draws``: the dense detector with every detection's box and key points moved by random offsets of rounding's
  size (each coordinate by 1e-5 to 1e-4 px, either sign): what another, equally correct order of the detector's
  sums gives.  The detector's float32 outputs carry about 1e-7 of the 224 px square (2e-5 px), and the sparse and
  dense programs' first detections differ by about 4e-5 px.

Per clip and setting: the largest distance (pixels, any of the 33 landmarks) over the first two frames from
MediaPipe's, as ``tests/test_pose_parity.py`` measures it, and how far the sparse program's first detection lies
from the dense one's.  Running it with an older tree on the path (``PYTHONPATH=<tree>``) measures that tree's
detector as ``dense`` (its ``FusedCpu`` without a ``sparse`` argument).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # after PYTHONPATH: a tree given there is the one measured

from benchmarks import pose_parity  # noqa: E402

#: Frames tracked (the bound is on the first two; the third is shown for how fast tracks drift).
FRAMES = 3
#: The clips whose first frames differ (``lost`` starts as ``demo`` does).
CLIPS = tuple(name for name in pose_parity.CLIPS if name != "lost")
#: The size of the offsets of a draw, in pixels: rounding's size in the detector's answers.
OFFSET_PX = (1e-5, 1e-4)


def first_frames(name: str, quality: str, scratch: Path) -> tuple[np.ndarray, np.ndarray, dict[bool, dict]]:
    """The clip's first ``FRAMES`` frames as the pipeline reads them, their times, MediaPipe's answers (by smoothing)."""
    from pipeline.analysis import AnalysisOptions, Plan
    from pipeline.presets import get_preset

    video = pose_parity.make_clip(scratch / f"{name}.mp4", name)
    plan = Plan.of(video, AnalysisOptions(get_preset(quality)))
    frames, times = pose_parity.analysed_frames(video, plan, scratch)
    first, first_times = np.load(frames)[:FRAMES], np.load(times)[:FRAMES]
    np.save(frames, first)
    np.save(times, first_times)
    return first, first_times, {smooth: pose_parity.mediapipe(frames, times, scratch, smooth=smooth) for smooth in (False, True)}


def detector_program(model, sparse: bool):
    """The fused program with or without the sparse kernel (None where this tree's program has no such choice)."""
    import inspect

    from pipeline.pose import fused_cpu

    if "sparse" not in inspect.signature(fused_cpu.FusedCpu).parameters:
        return None if sparse else fused_cpu.FusedCpu(model.detector.graph)
    program = fused_cpu.FusedCpu(model.detector.graph, sparse=sparse)
    return program if program.sparse == sparse else None


def shifted(detect_batch, rng: np.random.Generator):
    """``detect_batch`` whose detections' boxes and key points move by random offsets of ``OFFSET_PX``'s size."""

    def run(images: np.ndarray, max_people: int = 1):
        found = detect_batch(images, max_people)
        for people in found:
            for person in people:
                for field in ("box", "keypoints"):
                    values = getattr(person, field)
                    offset = rng.uniform(*OFFSET_PX, values.shape) * rng.choice([-1.0, 1.0], values.shape)
                    setattr(person, field, values + offset)
        return found

    return run


def tracked(model, frames: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The (FRAMES, 33, 2) landmarks of ``model``'s track through ``frames``."""
    return model.track(frames, times)[0].keypoints[:, 0, :, :2]


def region_apart_px(detector, frame: np.ndarray, theirs: dict) -> float:
    """How far the region ergo's detector places in the first frame lies from the one MediaPipe's detector placed:
    the larger of the centres' distance and the sizes' difference, in pixels (as ``pose_parity.stepwise``)."""
    from pipeline.pose.blazepose import CANDIDATES
    from pipeline.pose.blazepose_detector import region_of_interest

    people = detector.detect_batch(frame[None], max_people=CANDIDATES)[0]
    region = max((region_of_interest(person) for person in people), key=lambda roi: roi.size, default=None)
    placed = theirs["region_from_detection"][0]
    if region is None or not np.isfinite(placed).all():
        return float("nan")
    return float(max(np.linalg.norm(region.center - placed[:2]), abs(region.size - placed[2])))


def distances(ours: np.ndarray, theirs: dict) -> list[float]:
    """Per frame, the largest distance (pixels) of any landmark from MediaPipe's."""
    return [round(float(np.linalg.norm(ours[i] - theirs["landmarks"][i, :, :2], axis=-1).max()), 4) for i in range(FRAMES)]


def clip_figures(models: dict, name: str, quality: str, draws: int, scratch: Path) -> dict:
    """Every figure of one clip."""
    frames, times, reference = first_frames(name, quality, scratch)
    figures: dict = {}
    detector = models[False].detector
    programs = {kind: detector_program(models[False], kind == "sparse") for kind in ("dense", "sparse")}
    detections = {}
    for kind, program in programs.items():
        if program is None:
            continue
        detector._network = program
        detections[kind] = detector.detect(frames[0])[0].keypoints
        figures.setdefault("region_from_mediapipe_px", {})[kind] = region_apart_px(detector, frames[0], reference[False])
        for smooth, model in models.items():
            figures.setdefault(kind, {})["smoothed" if smooth else "unsmoothed"] = distances(tracked(model, frames, times), reference[smooth])
    if "sparse" in detections:
        figures["sparse_detection_moved_px"] = float(np.abs(detections["sparse"] - detections["dense"]).max())
    detector._network = programs["dense"]
    plain, rng = detector.detect_batch, np.random.default_rng(sum(map(ord, name)))
    detector.detect_batch = shifted(plain, rng)
    try:
        for smooth, model in models.items():
            runs = [distances(tracked(model, frames, times), reference[smooth]) for _ in range(draws)]
            figures.setdefault("draws", {})["smoothed" if smooth else "unsmoothed"] = [max(run[:2]) for run in runs]
    finally:
        detector.detect_batch = plain
    return figures


def spread(figures: dict) -> dict:
    """Per setting: the draws' quantiles, and where the dense and sparse programs' first-frames figure lies among
    them (the share of draws below it)."""
    summary = {}
    for setting, draws in figures["draws"].items():
        values = np.sort(draws)
        row = {"draws_min": values[0], "draws_p10": np.quantile(values, 0.1), "draws_median": np.median(values),
               "draws_p90": np.quantile(values, 0.9), "draws_max": values[-1]}
        for kind in ("dense", "sparse"):
            if kind in figures:
                first = max(figures[kind][setting][:2])
                row[kind] = first
                row[f"{kind}_rank"] = float((values < first).mean())
        summary[setting] = {key: round(float(value), 3) for key, value in row.items()}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=CLIPS)
    parser.add_argument("--draws", type=int, default=20, help="moved detections per clip and setting")
    parser.add_argument("--quality", default="low", help="the preset the frames are read at (the parity test's: low)")
    args = parser.parse_args()
    if not pose_parity.REFERENCE_PYTHON.exists():
        sys.exit("MediaPipe's environment is missing: run `make reference` first.")
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.pose.blazepose import BlazePose

    folder = AnalysisSettings().models_folder()
    first = BlazePose(models_dir=folder, device="cpu", smooth=False)
    smoothed = BlazePose(models_dir=folder, device="cpu", smooth=True)
    smoothed.detector = first.detector  # one detector: its program is swapped for both
    report = {}
    with tempfile.TemporaryDirectory(prefix="ergo-first-frames-") as scratch:
        for name in args.clips:
            (Path(scratch) / name).mkdir()
            report[name] = clip_figures({False: first, True: smoothed}, name, args.quality, args.draws, Path(scratch) / name)
            print(name, json.dumps(report[name]), flush=True, file=sys.stderr)
    print(json.dumps({"clips": report, "spread": {name: spread(figures) for name, figures in report.items()}}, indent=1))


if __name__ == "__main__":
    main()
