"""MediaPipe's own pose solution over a video's sampled frames: the reference ergo's BlazePose is compared with.

    .reference-venv/bin/python benchmarks/mediapipe_reference.py VIDEO INDICES.npy OUT.npz [--no-smooth] [--complexity 1]

Runs in MediaPipe's own environment (``make reference``; it needs numpy<2, so
it never shares ``.venv``), for benchmarks and tests only, never at run time.
``INDICES.npy`` holds the frame indices to analyse, in order: the caller
computes them with ``pipeline.video.sample_indices``, so both sides read the
same frames and nothing here repeats the pipeline's sampling rule.  The frames
go through ``mp.solutions.pose`` in video mode (tracking from frame to frame,
as MediaPipe does on a stream), with landmark smoothing on (MediaPipe's
default) or off.

``OUT.npz`` holds, per analysed frame: ``found`` (a pose was reported),
``landmarks`` (33, 4: x and y in pixels, z, visibility), ``presence`` (33) and
``world`` (33, 3: metres, hip-centred); NaN where nothing was found.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def run(video: str, indices: np.ndarray, smooth: bool, complexity: int) -> dict[str, np.ndarray]:
    import cv2
    import mediapipe as mp

    wanted = {int(index): position for position, index in enumerate(indices)}
    count = len(indices)
    out = {"found": np.zeros(count, bool), "landmarks": np.full((count, 33, 4), np.nan, np.float32),
           "presence": np.full((count, 33), np.nan, np.float32), "world": np.full((count, 33, 3), np.nan, np.float32)}
    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        sys.exit(f"OpenCV cannot open {video}")
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=complexity, smooth_landmarks=smooth,
                                enable_segmentation=False) as pose:
        index = 0
        while wanted:
            ok, bgr = capture.read()
            if not ok:
                break
            position = wanted.pop(index, None)
            index += 1
            if position is None:
                continue
            height, width = bgr.shape[:2]
            answer = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            if answer.pose_landmarks is None:
                continue
            out["found"][position] = True
            out["landmarks"][position] = [[p.x * width, p.y * height, p.z, p.visibility] for p in answer.pose_landmarks.landmark]
            out["presence"][position] = [p.presence for p in answer.pose_landmarks.landmark]
            out["world"][position] = [[p.x, p.y, p.z] for p in answer.pose_world_landmarks.landmark]
    capture.release()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("indices", help=".npy of the frame indices to analyse (pipeline.video.sample_indices)")
    parser.add_argument("out", help=".npz to write")
    parser.add_argument("--no-smooth", dest="smooth", action="store_false", help="landmark smoothing off")
    parser.add_argument("--complexity", type=int, default=1, choices=(0, 1, 2), help="0 lite, 1 full (ergo's default), 2 heavy")
    args = parser.parse_args()
    np.savez(args.out, **run(args.video, np.load(args.indices), args.smooth, args.complexity), smooth=args.smooth)


if __name__ == "__main__":
    main()
