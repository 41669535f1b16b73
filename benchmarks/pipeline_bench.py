"""Pipeline benchmark: where the time goes, and whether memory stays flat.

    .venv/bin/python benchmarks/pipeline_bench.py [--quality low] [--short 10] [--long 60] [--weights random]

Generates 720p clips, then measures side by side (same machine, same run):

* decode-only fps   chunked decord reads at the inference size
* model-only fps    the pose model on frames already in memory
* full fps          the whole analysis (decode prefetched behind inference, scoring)
* naive fps         decode one full-size frame, resize, infer it, repeat
* peak RSS          of a fresh process running the full analysis on the short and the long clip

and prints one JSON object.  Targets: full >= 0.9 x model-only, full > naive,
peak RSS(long) <= 1.15 x peak RSS(short).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_clip(path: Path, seconds: int, fps: int = 30) -> Path:
    from tests.videos import make_video

    def scene(index: int, width: int, height: int) -> np.ndarray:
        frame = np.full((height, width, 3), 90, np.uint8)
        x = 200 + (index * 4) % 600
        frame[150:600, x:x + 120] = (180, 140, 120)  # a moving figure-sized block
        frame[100:150, x + 35:x + 85] = (200, 160, 140)
        return frame

    return make_video(path, frames=seconds * fps, width=1280, height=720, fps=fps, scene=scene, gop=fps)


def _setup(video: str, quality: str, weights: str):
    from pipeline.analysis import AnalysisOptions
    from pipeline.pose import load_pose_model
    from pipeline.presets import get_preset
    from pipeline.video import probe, sample_indices

    options = AnalysisOptions(get_preset(quality))
    info = probe(video)
    size = options.preset.target_size(info.width, info.height)
    return options, info, size, sample_indices(info, options.preset.sample_fps), load_pose_model("keypointrcnn", weights)


def measure(video: str, quality: str, weights: str) -> dict:
    """Decode-only, model-only, full and naive fps in this process."""
    import decord
    import torch

    from pipeline.analysis import analyze_video
    from pipeline.video import FrameReader

    options, info, size, indices, model = _setup(video, quality, weights)
    chunks = [indices[i:i + options.chunk_size] for i in range(0, len(indices), options.chunk_size)]
    model.predict(FrameReader(video, info, size).read(indices[:model.batch_size]))  # warm-up

    start = time.perf_counter()
    reader = FrameReader(video, info, size)
    frames = np.concatenate([reader.read(chunk) for chunk in chunks])
    decode = len(indices) / (time.perf_counter() - start)

    start = time.perf_counter()
    for i in range(0, len(frames), model.batch_size):
        model.predict(frames[i:i + model.batch_size])
    model_only = len(indices) / (time.perf_counter() - start)
    del frames

    start = time.perf_counter()
    analyze_video(video, model, options)
    full = len(indices) / (time.perf_counter() - start)

    start = time.perf_counter()
    naive_reader = decord.VideoReader(video, num_threads=0)
    for index in indices:
        frame = torch.from_numpy(naive_reader[int(index)].asnumpy()).permute(2, 0, 1)[None].float()
        small = torch.nn.functional.interpolate(frame, size=(size[1], size[0]), mode="bilinear")
        model.predict(small[0].permute(1, 2, 0).clamp(0, 255).byte().numpy()[None])
    naive = len(indices) / (time.perf_counter() - start)
    return {"frames": int(len(indices)), "size": list(size), "decode_fps": round(decode, 2), "model_fps": round(model_only, 2),
            "full_fps": round(full, 2), "naive_fps": round(naive, 2),
            "model": {k: v for k, v in model.describe().items() if k != "keypoints"}}


def peak_rss(video: str, quality: str, weights: str) -> dict:
    """Run the full analysis in this (fresh) process and report its peak RSS."""
    from pipeline.analysis import analyze_video

    options, _, _, indices, model = _setup(video, quality, weights)
    analyze_video(video, model, options)
    return {"frames": int(len(indices)), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _child(mode: str, video: Path, args: argparse.Namespace) -> dict:
    output = subprocess.run([sys.executable, __file__, "--child", mode, "--video", str(video), "--quality", args.quality,
                             "--weights", args.weights], capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", default="low")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--short", type=int, default=10, help="seconds of the short clip")
    parser.add_argument("--long", type=int, default=60, help="seconds of the long clip")
    parser.add_argument("--child", choices=["measure", "rss"])
    parser.add_argument("--video")
    args = parser.parse_args()
    if args.child:
        run = measure if args.child == "measure" else peak_rss
        print(json.dumps(run(args.video, args.quality, args.weights)))
        return
    with tempfile.TemporaryDirectory(prefix="ergo-bench-") as scratch:
        short = make_clip(Path(scratch) / "short.mp4", args.short)
        long = make_clip(Path(scratch) / "long.mp4", args.long)
        speed = _child("measure", short, args)
        rss_short, rss_long = _child("rss", short, args), _child("rss", long, args)
    report = {
        "clip": f"1280x720 @ 30 fps, quality {args.quality}",
        **speed,
        "full_vs_model": round(speed["full_fps"] / speed["model_fps"], 3),
        "full_vs_naive": round(speed["full_fps"] / speed["naive_fps"], 3),
        f"peak_rss_mb_{args.short}s": rss_short["peak_rss_mb"],
        f"peak_rss_mb_{args.long}s": rss_long["peak_rss_mb"],
        "rss_long_vs_short": round(rss_long["peak_rss_mb"] / rss_short["peak_rss_mb"], 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
