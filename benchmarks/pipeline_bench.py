"""Pipeline benchmark: where the time goes, and whether memory stays flat.

    .venv/bin/python benchmarks/pipeline_bench.py [--model blazepose] [--quality low] [--short 10] [--long 60]

Generates 720p clips (for BlazePose, the demo's person leaning over; for
keypointrcnn, a moving block: random weights find "people" anywhere), then
measures side by side (same machine, same run):

* ms per crop       BlazePose only: the landmark network (and the detector) at batch 1 and 16
* decode-only fps   chunked decord reads at the inference size, and the frames decoded per analysed frame
* model-only fps    the pose model on frames already in memory, chunk by chunk as the pipeline calls it
* full fps          the whole analysis (decode prefetched behind inference, scoring)
* naive fps         decode one full-size frame, resize, infer it, repeat
* --threads         instead: full fps alone and beside a busy process, with Torch's default threading and with
                    the worker's (a thread per usable core, OMP_WAIT_POLICY=PASSIVE); slowdown goal <= 1.2
* --numerics        instead: full fps with the numeric libraries pinned to AVX2 (pipeline/numerics.py, as the
                    product runs), each left to choose by this CPU, and held to the oldest kernels (a CPU without
                    AVX2), median of three runs each, in frames per second of the clock and of CPU time
* --second-opinion  instead: full fps with BlazePose's second opinion (its detector asked again at scene cuts and
                    every 2 s while it follows a person) and with MediaPipe's tracking alone, and with the detector
                    as the frozen graph it ran as before it was fused (``checked_frozen``) and fused without its
                    sparse 1x1 kernel (``checked_dense``), interleaved in one
                    process (median of --rounds runs each, 3 by default, by the clock and by CPU time), and the
                    detector's calls
* evidence          seconds to write the files alone, with the posture pictures and PDF, and with the
                    annotated video too (overlay.mp4), and the video's cost per analysed frame
* slow_bucket       full fps with checkpoint writes taking 80 ms, written behind the computation (as the
                    pipeline does) and in line, against instant writes
* peak RSS          of a fresh process running the full analysis on the short and the long clip, and
                    within the long run, RSS after its last chunk against after its first

and prints one JSON object.  Targets: full >= 0.9 x model-only (where decoding
has a core of its own), full > naive, RSS after the long run's last chunk <=
1.15 x after its first.  The peaks of two processes are printed too, but glibc
keeps freed Torch activations in its heap by chance of allocation order, so
they can differ by a gigabyte between runs without anything accumulating.
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


def block_scene(index: int, width: int, height: int) -> np.ndarray:
    frame = np.full((height, width, 3), 90, np.uint8)
    x = 200 + (index * 4) % 600
    frame[150:600, x:x + 120] = (180, 140, 120)  # a moving figure-sized block
    frame[100:150, x + 35:x + 85] = (200, 160, 140)
    return frame


def person_scene():
    """The demo's leaning person (rendered once at 10 fps), centred on a 720p frame, looped."""
    from pipeline import demo

    frames = list(demo.frames(fps=10))

    def scene(index: int, width: int, height: int) -> np.ndarray:
        frame = np.full((height, width, 3), demo.BACKGROUND, np.uint8)
        picture = frames[(index // 3) % len(frames)]
        top, left = (height - picture.shape[0]) // 2, (width - picture.shape[1]) // 2
        frame[top:top + picture.shape[0], left:left + picture.shape[1]] = picture
        return frame

    return scene


def make_clip(path: Path, seconds: int, scene, fps: int = 30) -> Path:
    from pipeline.synthetic import make_video

    return make_video(path, frames=seconds * fps, width=1280, height=720, fps=fps, scene=scene, gop=fps)


def ms_per_crop(model) -> dict:
    """BlazePose's networks alone on random input: milliseconds per crop at batch 1 and 16."""
    import torch

    timings = {}
    for name, graph, size in (("landmark", model.landmarks.graph, 256), ("detector", model.detector.graph, 224)):
        for batch in (1, 16):
            crops = torch.rand(batch, size, size, 3, device=model.device)
            with torch.inference_mode():
                graph(crops)  # warm-up
                start, runs = time.perf_counter(), 0
                while time.perf_counter() - start < 3.0:
                    graph(crops)
                    runs += 1
            timings[f"{name}_ms_per_crop_batch{batch}"] = round((time.perf_counter() - start) / runs / batch * 1000, 2)
    return timings


def setup_analysis(video: str, quality: str, model_name: str, weights: str | None):
    """(options, video info, analysis size, sampled frame indices, pose model) for a quality preset: what each
    measurement here, and the face-blur benchmark's, starts from."""
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.analysis import AnalysisOptions
    from pipeline.pose import load_pose_model
    from pipeline.presets import analysis_size, get_preset
    from pipeline.video import probe, sample_indices

    options = AnalysisOptions(get_preset(quality))
    info = probe(video)
    size = analysis_size(info.width, info.height)
    return options, info, size, sample_indices(info, options.preset.sample_fps), load_pose_model(AnalysisSettings().pose(model_name, weights))


def measure(video: str, quality: str, model_name: str, weights: str | None) -> dict:
    """Decode-only, model-only, full and naive fps in this process."""
    import decord
    import torch

    from pipeline.analysis import analyze_video
    from pipeline.video import FrameReader

    options, info, size, indices, model = setup_analysis(video, quality, model_name, weights)
    chunks = [indices[i:i + options.chunk_size] for i in range(0, len(indices), options.chunk_size)]
    crops = ms_per_crop(model) if model.name == "blazepose" else {}
    model.predict(FrameReader(video, info, size).read(indices[:model.batch_size]))  # warm-up

    start = time.perf_counter()
    reader = FrameReader(video, info, size)
    frames = np.concatenate([reader.read(chunk) for chunk in chunks])
    decode = len(indices) / (time.perf_counter() - start)
    decoded = decoded_per_analysed(video, chunks)

    start = time.perf_counter()
    found = []
    for i in range(0, len(frames), options.chunk_size):
        found.append(np.isfinite(model.predict_sequence(frames[i:i + options.chunk_size]).boxes[:, :, 4]).any(axis=1))
    model_only = len(indices) / (time.perf_counter() - start)
    detected = float(np.concatenate(found).mean())
    del frames

    start = time.perf_counter()
    result = analyze_video(video, model, options)
    full = len(indices) / (time.perf_counter() - start)
    evidence = evidence_cost(result, video)
    bucket = slow_bucket(video, model, options, len(indices))

    start = time.perf_counter()
    naive_reader = decord.VideoReader(video, num_threads=0)
    for index in indices:
        frame = torch.from_numpy(naive_reader[int(index)].asnumpy()).permute(2, 0, 1)[None].float()
        small = torch.nn.functional.interpolate(frame, size=(size[1], size[0]), mode="bilinear")
        model.predict(small[0].permute(1, 2, 0).clamp(0, 255).byte().numpy()[None])
    naive = len(indices) / (time.perf_counter() - start)
    return {"frames": int(len(indices)), "size": list(size), "decode_fps": round(decode, 2),
            "decoded_per_analysed_frame": round(decoded, 2), "model_fps": round(model_only, 2),
            "full_fps": round(full, 2), "naive_fps": round(naive, 2), "frames_with_person": round(detected, 3), **crops, **evidence,
            "slow_bucket": bucket, "model": {k: v for k, v in model.describe().items() if k != "keypoints"}}


def decoded_per_analysed(video: str, chunks: list) -> float:
    """Frames decord decodes per analysed frame, from the video's keyframes: within a chunk a frame is reached by
    decoding on from the one before it when both lie in one GOP, else from its keyframe; every chunk starts at
    its first frame's keyframe (the reader seeks after each chunk)."""
    import decord

    keys = np.asarray(decord.VideoReader(video, num_threads=0, width=32, height=32).get_key_indices())

    def keyframe(index: int) -> int:
        return int(keys[np.searchsorted(keys, index, side="right") - 1])

    decoded = 0
    for chunk in chunks:
        position = None  # the next frame the decoder would produce
        for index in map(int, chunk):
            start = position if position is not None and keyframe(index) == keyframe(position - 1) and index >= position else keyframe(index)
            decoded += index - start + 1
            position = index + 1
    return decoded / sum(len(chunk) for chunk in chunks)


def slow_bucket(video: str, model, options, frames: int, write_s: float = 0.08) -> dict:
    """Full fps with checkpoints that take ``write_s`` to write (a slow bucket), written behind the computation
    as the pipeline does, against the same writes in line (the analysis's own thread, as before) and none."""
    from pipeline.analysis import MemoryCheckpoints, analyze_video

    class SlowCheckpoints(MemoryCheckpoints):
        def save(self, chunk) -> None:
            time.sleep(write_s)
            super().save(chunk)

    def fps(checkpoints, on_chunk=None) -> float:
        start = time.perf_counter()
        analyze_video(video, model, options, checkpoints=checkpoints, on_chunk=on_chunk)
        return round(frames / (time.perf_counter() - start), 2)

    instant = fps(MemoryCheckpoints())
    behind = fps(SlowCheckpoints())
    in_line = fps(MemoryCheckpoints(), on_chunk=lambda chunk: time.sleep(write_s))
    return {"write_ms": write_s * 1000, "instant_fps": instant, "written_behind_fps": behind, "in_line_fps": in_line,
            "slowdown_behind": round(instant / behind, 3), "slowdown_in_line": round(instant / in_line, 3)}


def evidence_cost(result: dict, video: str) -> dict:
    """Seconds to write the result files without and with the evidence: posture pictures and PDF, then the
    annotated video too, and the video's cost per analysed frame."""
    from pipeline.results import write_results

    with tempfile.TemporaryDirectory() as scratch:
        write_results(result, Path(scratch) / "warm-up", video, overlay=True)  # imports and first-use costs, not timed
        start = time.perf_counter()
        write_results(result, Path(scratch) / "files")
        files = time.perf_counter() - start
        start = time.perf_counter()
        write_results(result, Path(scratch) / "evidence", video)
        evidence = time.perf_counter() - start
        start = time.perf_counter()
        write_results(result, Path(scratch) / "overlay", video, overlay=True)
        overlay = time.perf_counter() - start
    frames = len(result.frame_indices)
    return {"files_s": round(files, 2), "files_pictures_pdf_s": round(evidence, 2), "with_overlay_s": round(overlay, 2),
            "overlay_ms_per_frame": round(1000 * (overlay - evidence) / max(frames, 1), 1)}


def peak_rss(video: str, quality: str, model_name: str, weights: str | None) -> dict:
    """Run the full analysis in this (fresh) process and report its peak RSS."""
    from pipeline.analysis import analyze_video

    options, _, _, indices, model = setup_analysis(video, quality, model_name, weights)
    after_chunk = []
    analyze_video(video, model, options, on_chunk=lambda chunk: after_chunk.append(_rss_mb()))
    return {"frames": int(len(indices)), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_mb_first_chunk": round(after_chunk[0], 1), "rss_mb_last_chunk": round(after_chunk[-1], 1)}


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def full_only(video: str, quality: str, model_name: str, weights: str | None) -> dict:
    """The full analysis alone, for the threading comparison."""
    import torch

    from pipeline.analysis import analyze_video

    options, _, _, indices, model = setup_analysis(video, quality, model_name, weights)
    analyze_video(video, model, options)  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    analyze_video(video, model, options)
    # frames per second of CPU time (every thread of the process): steadier than the clock on a busy machine
    return {"full_fps": round(len(indices) / (time.perf_counter() - start), 2), "cpu_fps": round(len(indices) / (time.process_time() - cpu), 2),
            "torch_threads": torch.get_num_threads()}


def second_opinion_cost(video: str, quality: str, model_name: str, weights: str | None, rounds: int = 3) -> dict:
    """Full fps with BlazePose's second opinion on and off (MediaPipe's tracking alone), interleaved in this process,
    with the detector's calls per analysed frame; on a CPU also with the detector's network as the frozen graph it
    was before it ran fused (``checked_frozen``, pipeline/pose/fused_cpu.py), and fused without the sparse kernel
    (``checked_dense``)."""
    import statistics

    from pipeline.analysis import analyze_video
    from pipeline.pose.fused_cpu import FusedCpu
    from pipeline.pose.tflite_graph import Frozen

    options, _, _, indices, model = setup_analysis(video, quality, model_name, weights)
    analyze_video(video, model, options)  # warm-up
    detect, calls = model.detector.detect_batch, []

    def counted(images, *args, **kwargs):
        calls.append(len(images))
        return detect(images, *args, **kwargs)

    model.detector.detect_batch = counted
    networks = {"checked": model.detector._network, "mediapipe": model.detector._network}
    if not isinstance(networks["checked"], Frozen):
        networks["checked_frozen"] = Frozen(model.detector.graph)
    if getattr(networks["checked"], "sparse", False):  # and as it ran before the sparse kernel
        networks["checked_dense"] = FusedCpu(model.detector.graph, sparse=False)
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in networks}
    for _ in range(rounds):
        for name in runs:
            model.second_opinion, model.detector._network, calls[:] = name != "mediapipe", networks[name], []
            start, cpu = time.perf_counter(), time.process_time()
            analyze_video(video, model, options)
            runs[name].append((len(indices) / (time.perf_counter() - start), len(indices) / (time.process_time() - cpu), len(calls)))
    report = {name: {"full_fps": round(statistics.median(r[0] for r in done), 2), "cpu_fps": round(statistics.median(r[1] for r in done), 2),
                     "detector_calls_per_frame": round(done[0][2] / len(indices), 3)} for name, done in runs.items()}
    for name in (n for n in runs if n != "mediapipe"):
        for measure in ("full_fps", "cpu_fps"):
            report[f"{measure}_{name}_vs_mediapipe"] = round(report[name][measure] / report["mediapipe"][measure], 3)
    return {"frames": int(len(indices)), **report}


def _child(mode: str, video: Path, args: argparse.Namespace, env: dict | None = None) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--video", str(video), "--quality", args.quality, "--model", args.model,
               "--rounds", str(args.rounds)]
    output = subprocess.run(command + (["--weights", args.weights] if args.weights else []), capture_output=True, text=True,
                            check=True, env=env)
    return json.loads(output.stdout.strip().splitlines()[-1])


def threading_check(video: Path, args: argparse.Namespace) -> dict:
    """Full-pipeline fps alone and beside a competing CPU-bound process, with Torch's defaults (a thread per core,
    OpenMP threads spinning) and with the worker's settings (ERGO_TORCH_THREADS, OMP_WAIT_POLICY=PASSIVE)."""
    import os

    cores = len(os.sched_getaffinity(0))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "ERGO_TORCH"))}
    setups = {"torch_defaults": {**base, "ERGO_TORCH_THREADS": str(cores), "OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": str(cores)},
              "worker_settings": base}
    report = {}
    for name, env in setups.items():
        alone = _child("full", video, args, env)
        competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            busy = _child("full", video, args, env)
        finally:
            competitor.kill()
            competitor.wait()
        report[name] = {"alone_fps": alone["full_fps"], "beside_busy_fps": busy["full_fps"], "torch_threads": alone["torch_threads"],
                        "slowdown": round(alone["full_fps"] / busy["full_fps"], 2)}
    return report


def numerics_check(video: Path, args: argparse.Namespace, runs: int = 3) -> dict:
    """Full-pipeline fps with the pin, without it (this CPU's own kernels) and on the oldest kernels, side by side."""
    import os
    import statistics

    from pipeline.numerics import PINS

    base = {k: v for k, v in os.environ.items() if k not in PINS}
    oldest = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41",
              "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Nehalem",
              "OPENCV_CPU_DISABLE": "AVX,AVX2,FP16,AVX512F,AVX512-SKX"}
    setups = {"pinned_avx2": base, "this_cpu": {**base, **dict.fromkeys(PINS, "")}, "oldest": {**base, **oldest}}
    runs_of = {name: [_child("full", video, args, env) for _ in range(runs)] for name, env in setups.items()}
    report = {}
    for measure in ("full_fps", "cpu_fps"):
        fps = {name: statistics.median(run[measure] for run in done) for name, done in runs_of.items()}
        report[measure] = {**fps, "pinned_vs_this_cpu": round(fps["pinned_avx2"] / fps["this_cpu"], 3),
                           "oldest_vs_pinned": round(fps["oldest"] / fps["pinned_avx2"], 3)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", default="low")
    parser.add_argument("--model", choices=["blazepose", "keypointrcnn"], default="blazepose")
    parser.add_argument("--weights", help="blazepose: lite, full (default) or heavy; keypointrcnn: default random")
    parser.add_argument("--short", type=int, default=10, help="seconds of the short clip")
    parser.add_argument("--long", type=int, default=60, help="seconds of the long clip")
    parser.add_argument("--child", choices=["measure", "rss", "full", "second_opinion"])
    parser.add_argument("--threads", action="store_true",
                        help="only compare Torch's default threading with the worker's, alone and beside a busy process")
    parser.add_argument("--numerics", action="store_true",
                        help="only compare the pinned numeric libraries with this CPU's own kernels and the oldest ones")
    parser.add_argument("--second-opinion", action="store_true",
                        help="only compare BlazePose's tracking with its detector's second opinion against MediaPipe's alone")
    parser.add_argument("--video")
    parser.add_argument("--rounds", type=int, default=3, help="--second-opinion: interleaved rounds (medians printed)")
    args = parser.parse_args()
    if args.model == "keypointrcnn" and not args.weights:
        args.weights = "random"
    if args.child:
        from ergo_tasks.analysis.settings import AnalysisSettings

        AnalysisSettings().prepare_process()  # as a worker does, before Torch loads
        run = {"measure": measure, "rss": peak_rss, "full": full_only, "second_opinion": second_opinion_cost}[args.child]
        extra = {"rounds": args.rounds} if args.child == "second_opinion" else {}
        print(json.dumps(run(args.video, args.quality, args.model, args.weights, **extra)))
        return
    scene = person_scene() if args.model == "blazepose" else block_scene
    if args.threads or args.numerics or args.second_opinion:
        with tempfile.TemporaryDirectory(prefix="ergo-bench-") as scratch:
            clip = make_clip(Path(scratch) / "short.mp4", args.short, scene)
            if args.second_opinion:
                print(json.dumps({"clip": f"1280x720 @ 30 fps, quality {args.quality}", **_child("second_opinion", clip, args)}, indent=2))
                return
            print(json.dumps((threading_check if args.threads else numerics_check)(clip, args), indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="ergo-bench-") as scratch:
        short = make_clip(Path(scratch) / "short.mp4", args.short, scene)
        long = make_clip(Path(scratch) / "long.mp4", args.long, scene)
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
        # within the long run: memory after its last chunk against after its first (flat: nothing accumulates)
        "rss_long_last_vs_first_chunk": round(rss_long["rss_mb_last_chunk"] / rss_long["rss_mb_first_chunk"], 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
