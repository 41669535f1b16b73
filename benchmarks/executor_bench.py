"""The Torch executor against the TFLite runtime, and ergo's pose step against MediaPipe's, side by side.

    .venv/bin/python benchmarks/executor_bench.py [--seconds 3] [--rounds 5] [--cpu-time] [--mediapipe] [--networks ...]

One thread everywhere (``torch.set_num_threads(1)``, the TFLite interpreter's
``num_threads=1``), so the figures compare the work each does, not how it
spreads over cores.  On the same random crops, in interleaved rounds (this
machine is shared and noisy; a ratio from one round is worth little, the
median of several is what is printed):

* ``<network>_ms_per_crop_batch<N>``  TFLite runtime (``ai-edge-litert``), the Torch executor as it was (``torch_before``:
                                      every output, PAD steps on their own) and as the pipeline runs it (``torch``:
                                      the outputs it reads, PADs folded into the convolutions), at batch 1 and 4
* ``torch_nchw``                      the executor with its weights in NCHW memory, run without freezing: the detector
                                      as the pipeline ran it before issue 22 (``ratio_nchw_to_tflite``)
* ``torch_frozen``                    the pipeline's executor as a TorchScript graph frozen for the input's shape, as
                                      the landmark model runs it since issue 11 (bit-identical outputs), and the
                                      detector since issue 22
* ``torch_fused``                     the executor's steps compiled into fused oneDNN steps with packed weights
                                      (pipeline/pose/fused_cpu.py): how the detector runs on a CPU since issue 22's
                                      second round (``ratio_fused_to_tflite``); its 1x1 convolutions through the
                                      sparse kernel (pipeline/pose/sparse_kernel.py) where it was built
                                      (``fused_sparse``: whether it was)
* ``torch_fused_dense``               the same program with oneDNN's dense 1x1 convolutions, as before the sparse
                                      kernel (``ratio_fused_dense_to_tflite``)
* ``--networks``                      only these networks (pose_landmark_full, pose_detection)
* ``--cpu-time``                      time each runner by its thread's CPU time instead of the clock: both run in the
                                      calling thread, and on a machine shared with other work the clock counts
                                      their time too
* ``ratio_to_tflite``                 Torch / TFLite runtime (goal <= 1.0), and ``ratio_frozen_to_tflite``
* ``--networks``                      only these networks (pose_landmark_full, pose_detection): the detector alone
                                      takes half the time
* ``--mediapipe``                     ms per frame of MediaPipe's whole pose solution (``mp.solutions.pose``,
                                      video mode, in ``.reference-venv``: ``make reference``) and of ergo's
                                      BlazePose ``predict_sequence`` on the same 640x360 frames of the demo's
                                      person (goal: ergo / MediaPipe <= 1.0)

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
REFERENCE_PYTHON = REPO / ".reference-venv" / "bin" / "python"


def _timed(run, seconds: float, clock=time.perf_counter) -> float:
    """Seconds per call of ``run``, over about ``seconds`` of ``clock`` (after one warm-up call)."""
    run()
    start, calls = clock(), 0
    while clock() - start < seconds or calls < 3:
        run()
        calls += 1
    return (clock() - start) / calls


def _tflite(path: Path, batch: np.ndarray):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    entry = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(entry, list(batch.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(entry, batch)

    def run() -> None:
        interpreter.invoke()
        for detail in interpreter.get_output_details():
            interpreter.get_tensor(detail["index"])

    return run


def _fused(graph, batch: np.ndarray, sparse: bool = True):
    import torch

    from pipeline.pose.fused_cpu import FusedCpu

    tensor, program = torch.from_numpy(batch), FusedCpu(graph, sparse=sparse)

    def run() -> None:
        with torch.inference_mode():
            program(tensor)

    return run


def _torch(graph, batch: np.ndarray, frozen: bool = False):
    """The graph on ``batch``; ``frozen``: as TorchScript frozen for that shape, as the landmark model runs it."""
    import warnings

    import torch

    tensor = torch.from_numpy(batch)
    if frozen:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            graph = torch.jit.freeze(torch.jit.trace(graph, tensor, check_trace=False))

    def run() -> None:
        with torch.inference_mode():
            graph(tensor)

    return run


#: The networks timed, and their input sizes.
NETWORKS = {"pose_landmark_full": 256, "pose_detection": 224}


def executors(models: dict[str, Path], seconds: float, rounds: int, clock=time.perf_counter, networks=tuple(NETWORKS)) -> dict:
    from pipeline.pose import sparse_kernel
    from pipeline.pose.blazepose_landmarks import OUTPUTS
    from pipeline.pose.tflite_graph import TFLiteGraph, output_shapes

    figures: dict = {"fused_sparse": sparse_kernel.load() is not None}
    for network in networks:
        size = NETWORKS[network]
        path = models[network]
        shapes = output_shapes(path)
        wanted = [shapes.index(s) for s in OUTPUTS.values()] if network.startswith("pose_landmark") else None
        # as the executor was (every step of every output, PAD steps on their own), and as the pipeline runs it now
        graphs = {"torch_before": TFLiteGraph(path, fold_pads=False).eval(), "torch": TFLiteGraph(path, outputs=wanted).eval(),
                  "torch_nchw": TFLiteGraph(path, outputs=wanted, channels_last=False).eval()}
        for batch_size in (1, 4):
            batch = np.random.default_rng(0).random((batch_size, size, size, 3), dtype=np.float32)
            runners = {"tflite": _tflite(path, batch), **{name: _torch(graph, batch) for name, graph in graphs.items()},
                       "torch_frozen": _torch(graphs["torch"], batch, frozen=True), "torch_fused": _fused(graphs["torch"], batch),
                       "torch_fused_dense": _fused(graphs["torch"], batch, sparse=False)}
            samples: dict[str, list[float]] = {name: [] for name in runners}
            for _ in range(rounds):  # interleaved, so a noisy moment hits every runner alike
                for name, run in runners.items():
                    samples[name].append(_timed(run, seconds / rounds, clock) / batch_size * 1000)
            medians = {name: round(statistics.median(values), 2) for name, values in samples.items()}
            medians["ratio_to_tflite"] = round(medians["torch"] / medians["tflite"], 2)
            medians["ratio_frozen_to_tflite"] = round(medians["torch_frozen"] / medians["tflite"], 2)
            medians["ratio_fused_to_tflite"] = round(medians["torch_fused"] / medians["tflite"], 2)
            medians["ratio_fused_dense_to_tflite"] = round(medians["torch_fused_dense"] / medians["tflite"], 2)
            medians["ratio_before_to_tflite"] = round(medians["torch_before"] / medians["tflite"], 2)
            medians["ratio_nchw_to_tflite"] = round(medians["torch_nchw"] / medians["tflite"], 2)
            figures[f"{network}_ms_per_crop_batch{batch_size}"] = medians
        figures[f"{network}_steps"] = {name: len(graph.steps) for name, graph in graphs.items()}
    return figures


def demo_frames(count: int = 40) -> np.ndarray:
    """The demo's leaning person on a 640x360 frame: what ``medium`` fed the model from a 720p video before issue 11 (960x540 since)."""
    from pipeline import demo

    pictures = list(demo.frames(fps=10))[:count]
    frames = np.full((len(pictures), 360, 640, 3), demo.BACKGROUND, np.uint8)
    for frame, picture in zip(frames, pictures):
        scale = 340 / picture.shape[0]
        from skimage.transform import resize

        small = (resize(picture, (340, int(picture.shape[1] * scale)), anti_aliasing=True) * 255).astype(np.uint8)
        left = (640 - small.shape[1]) // 2
        frame[10:350, left:left + small.shape[1]] = small
    return frames


MEDIAPIPE_TIMER = """
import json, sys, time
import numpy as np
import mediapipe as mp
frames = np.load(sys.argv[1])
with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True) as pose:
    pose.process(frames[0])  # warm-up (graph start)
with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True) as pose:
    start = time.perf_counter()
    found = sum(pose.process(frame).pose_landmarks is not None for frame in frames)
    print(json.dumps({"ms_per_frame": (time.perf_counter() - start) / len(frames) * 1000, "found": found / len(frames)}))
"""


def pose_steps(models_dir: Path, rounds: int) -> dict:
    """ms per frame: MediaPipe's whole pose solution (its own process, one thread) and ergo's BlazePose."""
    from pipeline.pose.blazepose import BlazePose

    frames = demo_frames()
    model = BlazePose("full", models_dir=models_dir, device="cpu")
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as scratch:
        np.save(Path(scratch) / "frames.npy", frames)
        env = {"OMP_NUM_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "GLOG_minloglevel": "2"}
        model.predict_sequence(frames[:4])  # warm-up
        for _ in range(rounds):
            answer = subprocess.run([str(REFERENCE_PYTHON), "-c", MEDIAPIPE_TIMER, str(Path(scratch) / "frames.npy")],
                                    capture_output=True, text=True, check=True, env=env)
            theirs.append(json.loads(answer.stdout.strip().splitlines()[-1]))
            start = time.perf_counter()
            output = model.predict_sequence(frames)
            ours.append({"ms_per_frame": (time.perf_counter() - start) / len(frames) * 1000,
                         "found": float(np.isfinite(output.boxes[:, 0, 4]).mean())})
    mine = statistics.median(r["ms_per_frame"] for r in ours)
    reference = statistics.median(r["ms_per_frame"] for r in theirs)
    return {"ergo_ms_per_frame": round(mine, 2), "mediapipe_ms_per_frame": round(reference, 2),
            "ratio_ergo_to_mediapipe": round(mine / reference, 2),
            "person_found": {"ergo": ours[0]["found"], "mediapipe": theirs[0]["found"]},
            "note": "MediaPipe's solution caps its own threads only partly (XNNPACK may use more than one)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per runner and setting, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cpu-time", action="store_true", help="time the networks by CPU time, not the clock")
    parser.add_argument("--mediapipe", action="store_true", help="also time MediaPipe's whole pose solution (make reference)")
    parser.add_argument("--networks", nargs="+", choices=list(NETWORKS), default=list(NETWORKS), help="the networks to time")
    args = parser.parse_args()

    import torch

    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.pose.assets import fetch

    torch.set_num_threads(1)
    models_dir = AnalysisSettings().models_folder()
    models = fetch(models_dir, ["pose_detection", "pose_landmark_full"])
    clock = time.thread_time if args.cpu_time else time.perf_counter
    report = {"threads": 1, "clock": "thread CPU time" if args.cpu_time else "wall", **executors(models, args.seconds, args.rounds, clock, args.networks)}
    if args.mediapipe:
        if not REFERENCE_PYTHON.exists():
            sys.exit("MediaPipe's environment is missing: run `make reference` first.")
        report["pose_step"] = pose_steps(models_dir, args.rounds)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
