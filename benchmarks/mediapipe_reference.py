"""MediaPipe's own pose solution over the frames ergo analysed: the reference ergo's BlazePose is compared with.

    .reference-venv/bin/python benchmarks/mediapipe_reference.py FRAMES.npy TIMES.npy OUT.npz [--no-smooth] [--complexity 1]

Runs in MediaPipe's own environment (``make reference``; it needs numpy<2, so
it never shares ``.venv``), for benchmarks and tests only, never at run time.
``FRAMES.npy`` holds the RGB frames ergo's pipeline decoded and analysed, in
order ((n, h, w, 3) uint8), and ``TIMES.npy`` when each is shown, in whole
microseconds (``pipeline.video.frame_times_us``): both sides see the same
pixels at the same times, so nothing here repeats the pipeline's sampling,
decoding or resizing.  The frames go through MediaPipe's pose graph as
``mp.solutions.pose.Pose`` builds it, in video mode (tracking from frame to
frame, as MediaPipe does on a stream) with landmark smoothing on (MediaPipe's
default) or off, or in static image mode.  The Python solution
stamps frames 1/30 s apart whatever the video; here each frame gets its real
time, so that MediaPipe's filters see the video's own pace (as its tasks API
and graphs do).

``OUT.npz`` holds, per frame: ``found`` (a pose was reported), ``landmarks``
(33, 4: x and y in pixels, z, visibility), ``presence`` (33) and ``world``
(33, 3: metres, hip-centred), NaN where nothing was found; and the graph's
regions (centre x, y, width, height in pixels, rotation in radians):
``region_from_detection`` where the detector ran and found someone,
``region_from_landmarks`` where the frame's landmarks placed the next one.
"""

from __future__ import annotations

import argparse

import numpy as np

#: The Python solution adds this to its clock before each frame (solution_base.py: a 30 fps stream).
SOLUTION_STEP_US = 33_333
#: The pose graph's regions: the square the landmark network read when the detector ran in a frame, and the one
#: the frame's landmarks place for the next frame.
REGIONS = ("region_from_detection", "region_from_landmarks")


def pose_graph(smooth: bool, static: bool, complexity: int):
    """``mp.solutions.pose.Pose`` as its constructor builds it, with the graph's regions as outputs too."""
    from mediapipe.python.solution_base import SolutionBase
    from mediapipe.python.solutions import pose

    pose._download_oss_pose_landmark_model(complexity)
    return SolutionBase(
        binary_graph_path=pose._BINARYPB_FILE_PATH,
        side_inputs={"model_complexity": complexity, "smooth_landmarks": smooth and not static, "enable_segmentation": False,
                     "smooth_segmentation": False, "use_prev_landmarks": not static},
        calculator_params={"posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": 0.5,
                           "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold": 0.5},
        outputs=["pose_landmarks", "pose_world_landmarks", "pose_rect_from_detection", "pose_rect_from_landmarks"])


def run(frames: np.ndarray, times_us: np.ndarray, smooth: bool, static: bool = False, complexity: int = 1) -> dict[str, np.ndarray]:
    count, height, width = frames.shape[:3]
    out = {"found": np.zeros(count, bool), "landmarks": np.full((count, 33, 4), np.nan, np.float32),
           "presence": np.full((count, 33), np.nan, np.float32), "world": np.full((count, 33, 3), np.nan, np.float32),
           **{region: np.full((count, 5), np.nan, np.float64) for region in REGIONS}}
    with pose_graph(smooth, static, complexity) as graph:
        for position, (frame, time_us) in enumerate(zip(frames, times_us)):
            graph._simulated_timestamp = int(time_us) - SOLUTION_STEP_US  # process() adds the step back
            answer = graph.process({"image": np.ascontiguousarray(frame)})
            for region, rect in zip(REGIONS, (answer.pose_rect_from_detection, answer.pose_rect_from_landmarks)):
                if rect is not None:  # centre, width, height in pixels; rotation in radians
                    out[region][position] = [rect.x_center * width, rect.y_center * height, rect.width * width,
                                             rect.height * height, rect.rotation]
            if answer.pose_landmarks is None:
                continue
            out["found"][position] = True
            out["landmarks"][position] = [[p.x * width, p.y * height, p.z, p.visibility] for p in answer.pose_landmarks.landmark]
            out["presence"][position] = [p.presence for p in answer.pose_landmarks.landmark]
            out["world"][position] = [[p.x, p.y, p.z] for p in answer.pose_world_landmarks.landmark]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frames", help=".npy of the (n, h, w, 3) uint8 RGB frames ergo analysed")
    parser.add_argument("times", help=".npy of their times in microseconds (pipeline.video.frame_times_us)")
    parser.add_argument("out", help=".npz to write")
    parser.add_argument("--no-smooth", dest="smooth", action="store_false", help="landmark smoothing off")
    parser.add_argument("--static", action="store_true", help="static image mode: every frame detected afresh, nothing smoothed")
    parser.add_argument("--complexity", type=int, default=1, choices=(0, 1, 2), help="0 lite, 1 full (ergo's default), 2 heavy")
    args = parser.parse_args()
    frames = np.load(args.frames, mmap_mode="r")
    np.savez(args.out, **run(frames, np.load(args.times), args.smooth, args.static, args.complexity), smooth=args.smooth)


if __name__ == "__main__":
    main()
