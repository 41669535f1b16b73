"""The analysis on a GPU: real-time factor, decode fps, model fps, GPU memory, and fp16 against fp32.

    benchmarks/gpu_bench.sh [--seconds 60] [--quality medium] [--device cuda]

Makes a 1080p30 clip of the demo's person at work (H.264, a keyframe a second),
then, side by side in this process:

* ``decode_fps``       chunked decord reads at the analysis size, as the pipeline reads them
* ``model_fps``        BlazePose tracking through frames already in memory, chunk by chunk, per precision
* ``full``             the whole analysis (decode prefetched behind the model, checkpoints written behind it,
                       scoring), in fp32 and in fp16 where fp16 passed its check: seconds, frames per second and
                       the real-time factor (video seconds per second of analysis; the goal on one H200 is >= 20)
* ``gpu_memory_mb``    the most the GPU held (``torch.cuda.max_memory_allocated``)
* ``fp16``             the load-time check (the demo clip tracked, mean landmark distance from fp32, limit 0.5 px), and
                       on the clip's frames the mean and largest distance (image pixels) of fp16's landmarks from fp32's

Prints one JSON object.  ``--device cpu --seconds 4`` runs the same steps here, to check the script.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def clip(path: Path, seconds: int) -> Path:
    from benchmarks.pipeline_bench import person_scene
    from pipeline.synthetic import make_video

    return make_video(path, frames=seconds * 30, width=1920, height=1080, fps=30, scene=person_scene(), gop=30)


def decode_fps(video: Path, plan) -> float:
    from pipeline.video import FrameReader

    reader = FrameReader(video, plan.info, plan.size)
    start = time.perf_counter()
    for chunk in plan.chunks:
        reader.read(chunk)
    return plan.frames / (time.perf_counter() - start)


def model_fps(model, frames: np.ndarray, times: np.ndarray, chunk_size: int, device: str) -> tuple[float, np.ndarray]:
    """Frames per second of the pose model tracking through the frames chunk by chunk, as the analysis calls it,
    and the keypoints it found."""
    model.track(frames[:chunk_size], times[:chunk_size])  # warm-up: kernels, allocator
    synchronize(device)
    start, state, found = time.perf_counter(), {}, []
    for i in range(0, len(frames), chunk_size):
        pose, state = model.track(frames[i:i + chunk_size], times[i:i + chunk_size], state)
        found.append(pose.keypoints)
    synchronize(device)
    return len(frames) / (time.perf_counter() - start), np.concatenate(found)


def full_run(video: Path, model, options, device: str) -> dict:
    from pipeline.analysis import analyze_video

    synchronize(device)
    start = time.perf_counter()
    result = analyze_video(video, model, options)
    synchronize(device)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "fps": round(len(result.frame_indices) / seconds, 1),
            "real_time_factor": round(result.video.duration / seconds, 2),
            "frames_with_person": round(float(result.detected.mean()), 3)}


def landmark_distance(fp32: np.ndarray, fp16: np.ndarray) -> dict:
    both = np.isfinite(fp32[..., 0]) & np.isfinite(fp16[..., 0])
    distance = np.linalg.norm(fp32[..., :2] - fp16[..., :2], axis=-1)[both]
    return {"points": int(both.sum()), "mean_px": round(float(distance.mean()), 3) if both.any() else None,
            "max_px": round(float(distance.max()), 3) if both.any() else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--quality", default="medium")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()

    import torch

    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.analysis import AnalysisOptions, Plan
    from pipeline.pose.assets import fetch
    from pipeline.pose.blazepose import BlazePose
    from pipeline.presets import get_preset
    from pipeline.video import FrameReader, frame_times_us

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("No CUDA device here; run with --device cpu to check the script.")
    models_dir = AnalysisSettings().models_folder()
    fetch(models_dir, ["pose_detection", "pose_landmark_full"])
    options = AnalysisOptions(get_preset(args.quality))
    report: dict = {"torch": torch.__version__, "device": args.device,
                    "gpu": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None}
    with tempfile.TemporaryDirectory(prefix="ergo-gpu-") as scratch:
        started = time.perf_counter()
        video = clip(Path(scratch) / "1080p30.mp4", args.seconds)
        plan = Plan.of(video, options)
        report["clip"] = {"seconds": args.seconds, "size": "1920x1080", "fps": 30, "quality": args.quality,
                          "analysed_frames": plan.frames, "model_input": list(plan.size),
                          "made_in_s": round(time.perf_counter() - started, 1)}
        report["decode_fps"] = round(decode_fps(video, plan), 1)
        frames = np.concatenate([FrameReader(video, plan.info, plan.size).read(chunk) for chunk in plan.chunks])
        times = frame_times_us(plan.indices, plan.info.fps)
        models = {"fp32": BlazePose("full", models_dir=models_dir, device=args.device)}
        half = BlazePose("full", models_dir=models_dir, device=args.device, precision="fp16")
        report["fp16"] = {"check": half.precision_check}
        if half.precision_check["kept"]:
            models["fp16"] = half
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        keypoints = {}
        report["model_fps"], report["full"] = {}, {}
        for name, model in models.items():
            fps, keypoints[name] = model_fps(model, frames, times, options.chunk_size, args.device)
            report["model_fps"][name] = round(fps, 1)
            report["full"][name] = full_run(video, model, options, args.device)
        if "fp16" in keypoints:
            report["fp16"]["on_the_clip"] = landmark_distance(keypoints["fp32"], keypoints["fp16"])
        if args.device.startswith("cuda"):
            report["gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    report["goal_real_time_factor"] = 20
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
