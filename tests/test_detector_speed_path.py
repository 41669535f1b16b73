"""The sparse 1x1 convolution kernel (pipeline/pose/sparse_pointwise.cpp) that runs the detector's 1x1 convolutions.

Correctness only (its speed: benchmarks/executor_bench.py): it computes what a dense convolution computes, to float
rounding; it gives the same bits whatever the batch, the tile or the instruction sets Torch and oneDNN are held to;
and the fused program uses it for every 1x1 convolution it can take, and runs without it where it was not built.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pipeline.pose import sparse_kernel
from pipeline.pose.fused_cpu import FusedCpu, _compile
from pipeline.pose.tflite_graph import TFLiteGraph
from tests.test_tflite_graph import ours, photos

#: The kernel against a dense float64 convolution, as a share of the output's range (measured: below 1e-6).
TOLERANCE = 1e-5
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kernel():
    """The kernel as ``make install`` built it: missing here is a failed build, not a reason to skip."""
    module = sparse_kernel.load()
    assert module is not None, "the sparse kernel was not built: run `python -m pipeline.pose.sparse_kernel` (make install does)"
    return module


def run(kernel, source, weight, bias, activation=0, residual=None) -> torch.Tensor:
    return kernel.sparse_pointwise(source.contiguous(memory_format=torch.channels_last), *sparse_kernel.csr(weight), bias, activation,
                                   residual)


def dense(source, weight, bias, activation=0, residual=None) -> torch.Tensor:
    total = F.conv2d(source.double(), weight.double()[:, :, None, None], bias.double())
    total = total if residual is None else total + residual.double()
    return (total.clamp(0, 6) if activation == 3 else total.relu() if activation == 1 else total).float()


def layer(cin: int, cout: int, size: tuple[int, int], batch: int = 1, seed: int = 0):
    """A random 1x1 layer with three weights in four zero, scattered, as the detector's."""
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(cout, cin, generator=generator) * (torch.rand(cout, cin, generator=generator) < 0.25)
    return 4 * torch.randn(batch, cin, *size, generator=generator), weight, torch.randn(cout, generator=generator)


@pytest.mark.parametrize(("cin", "cout", "size", "activation"), [
    (24, 16, (11, 13), 0),  # 143 pixels: four whole tiles and a ragged one
    (144, 40, (7, 7), 1),   # 49 pixels: a tile and 17 pixels
    (288, 6, (3, 5), 3),    # fewer outputs than a vector holds
    (16, 64, (1, 1), 3),    # one pixel
])
def test_it_computes_the_dense_convolution(kernel, cin, cout, size, activation):
    source, weight, bias = layer(cin, cout, size)
    got, want = run(kernel, source, weight, bias, activation), dense(source, weight, bias, activation)
    assert got.shape == want.shape and got.is_contiguous(memory_format=torch.channels_last)
    assert float((got - want).abs().max()) <= TOLERANCE * max(1.0, float(want.abs().max()))
    if activation == 3:
        assert float(got.max()) == 6.0 and float(got.min()) == 0.0  # the clamp is exercised


@pytest.mark.parametrize("activation", [0, 1, 3])
def test_the_residual_is_added_before_the_activation(kernel, activation):
    source, weight, bias = layer(40, 24, (9, 9), seed=1)
    residual = torch.randn(1, 24, 9, 9).contiguous(memory_format=torch.channels_last)
    got, want = run(kernel, source, weight, bias, activation, residual), dense(source, weight, bias, activation, residual)
    assert float((got - want).abs().max()) <= TOLERANCE * max(1.0, float(want.abs().max()))


def test_a_pixel_gets_the_same_bits_in_a_batch_and_anywhere_in_a_tile(kernel):
    source, weight, bias = layer(112, 72, (7, 7), batch=3, seed=2)
    batched = run(kernel, source, weight, bias, 3)
    for index in range(3):
        assert torch.equal(batched[index:index + 1], run(kernel, source[index:index + 1], weight, bias, 3))
    shifted = run(kernel, source[:, :, 1:, 3:], weight, bias, 3)  # every pixel at another place in its tile
    assert torch.equal(shifted, batched[:, :, 1:, 3:])


def test_bad_input_is_refused_in_words(kernel):
    source, weight, bias = layer(12, 8, (4, 4))
    with pytest.raises(RuntimeError, match="multiples of 8"):
        run(kernel, source, weight, bias)
    source, weight, bias = layer(16, 8, (4, 4))
    with pytest.raises(RuntimeError, match="residual must have the output's shape"):
        run(kernel, source, weight, bias, 0, torch.zeros(1, 8, 2, 2))


@pytest.fixture(scope="module")
def detector_graph(pose_models) -> TFLiteGraph:
    return TFLiteGraph(pose_models["pose_detection"]).eval()


def test_the_detector_runs_every_1x1_convolution_through_it(kernel, detector_graph):
    pointwise = [step for step in detector_graph.steps if step.op == "CONV_2D" and tuple(getattr(detector_graph, f"c{step.inputs[1]}").shape[2:]) == (1, 1)]
    ops = _compile(detector_graph, 1, kernel)
    assert len(pointwise) == 44 and sum(op.sparse for op in ops) == 44
    assert FusedCpu(detector_graph).sparse and not FusedCpu(detector_graph, sparse=False).sparse


def test_without_the_kernel_the_program_runs_on_onednn_alone(kernel, detector_graph, monkeypatch):
    image = (photos(224)[0] * 2 - 1)[None]
    with torch.inference_mode():
        with_kernel = FusedCpu(detector_graph)(torch.from_numpy(image))
        monkeypatch.setattr(sparse_kernel, "load", lambda: None)
        program = FusedCpu(detector_graph)
        without = program(torch.from_numpy(image))
    assert not program.sparse and not any(op.sparse for op in _compile(detector_graph, 1, None))
    for got, want in zip(with_kernel, without, strict=True):
        assert float((got - want).abs().max()) <= 1e-4 * max(1.0, float(want.abs().max()))
    assert any(not torch.equal(got, want) for got, want in zip(with_kernel, without))  # the kernel did run above


DIGEST = """
import hashlib, sys
import numpy as np, torch
from pipeline.pose import sparse_kernel
from pipeline.pose.fused_cpu import FusedCpu
from pipeline.pose.tflite_graph import TFLiteGraph
torch.set_num_threads(1)
image = np.load(sys.argv[2])
with torch.inference_mode():
    outputs = FusedCpu(TFLiteGraph(sys.argv[1]).eval())(torch.from_numpy(image))
print(sparse_kernel.load() is not None, hashlib.sha256(b"".join(o.numpy().tobytes() for o in outputs)).hexdigest())
"""


@pytest.mark.slow
def test_the_detector_gives_the_same_bits_whatever_instructions_torch_and_onednn_are_held_to(kernel, pose_models, detector_graph, tmp_path):
    """As on CPUs of this kind with AVX-512, with only AVX2, and with Torch's oldest kernels: one answer."""
    images = tmp_path / "images.npy"
    np.save(images, np.stack([photo * 2 - 1 for photo in photos(224)[:2]]))
    answers = set()
    for settings in ({"ATEN_CPU_CAPABILITY": "avx512"}, {"ATEN_CPU_CAPABILITY": "avx2"}, {"ATEN_CPU_CAPABILITY": "default"},
                     {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}):
        env = {**os.environ, "PYTHONPATH": str(REPO), **settings}
        answer = subprocess.run([sys.executable, "-c", DIGEST, str(pose_models["pose_detection"]), str(images)], env=env, cwd=REPO,
                                capture_output=True, text=True, check=True).stdout.split()
        assert answer[0] == "True", settings  # the kernel ran in that process too
        answers.add(answer[1])
    assert len(answers) == 1
    with torch.inference_mode():  # and it is this process's answer, with the step-by-step executor's meaning
        mine = FusedCpu(detector_graph)(torch.from_numpy(np.load(images)))
    assert hashlib.sha256(b"".join(o.numpy().tobytes() for o in mine)).hexdigest() in answers
    for got, want in zip([mine[i].numpy() for i in np.argsort(detector_graph.output_names)], ours(detector_graph, np.load(images)), strict=True):
        assert float(np.abs(got - want).max()) <= 1e-4 * max(1.0, float(np.abs(want).max()))


def test_the_result_records_how_the_detector_ran(kernel, pose_models, monkeypatch):
    """Its last bits depend on whether the sparse kernel ran: the model's record says, and without the kernel (not
    built, or a CPU without AVX2 and FMA) the analysis still runs and records that its numbers are not pinned."""
    from pipeline import numerics
    from pipeline.pose.blazepose import BlazePose

    folder = pose_models["pose_detection"].parent
    model = BlazePose(models_dir=folder, device="cpu")
    assert model.describe()["detector_executor"] == "fused oneDNN program, 1x1 convolutions by the sparse kernel"
    assert model.unpinned() == {} and numerics.in_force(model.unpinned()) == numerics.in_force()  # pinned as the libraries are
    monkeypatch.setattr(sparse_kernel, "load", lambda: None)
    dense = BlazePose(models_dir=folder, device="cpu")
    assert dense.describe()["detector_executor"] == "fused oneDNN program"
    recorded = numerics.in_force(dense.unpinned())
    assert recorded["pinned"] is False and recorded["isa"] == "not pinned" and "sparse kernel" in recorded["detector"]
    assert dense.detector.detect((photos(224)[0] * 255).astype(np.uint8))  # and it still finds the person
