"""The same numbers whatever the CPU offers: the analysis is bit-identical under every instruction set.

A machine is simulated by capping each numeric library at the instruction set it would find there (the
libraries' own variables; MKL's ``MKL_ENABLE_INSTRUCTIONS`` restricts its dispatch as a CPU without AVX-512
would).  The control shows what the pin is for: without it, this machine's AVX-512 kernels give other bits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import numerics
from tests.helpers import REPO

pytestmark = pytest.mark.slow

#: What each library would find on a CPU with AVX2 but no AVX-512 (Haswell to Zen 3).
AVX2_CPU = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
            "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell",
            "OPENCV_CPU_DISABLE": "AVX512F,AVX512-SKX"}
#: Every library left to choose by this CPU: the pin's variables set empty, so that it yields.
UNPINNED = dict.fromkeys(numerics.PINS, "")

ANALYSE = """
import sys, json
import pipeline  # first: the pin holds only for libraries loaded after it
import numpy as np, torch
from benchmarks import pose_parity
from ergo_tasks.analysis.settings import AnalysisSettings
from pipeline import numerics
from pipeline.analysis import AnalysisOptions, analyze_video
from pipeline.pose.blazepose import BlazePose
from pipeline.presets import get_preset

torch.set_num_threads(1)
model = BlazePose(models_dir=AnalysisSettings().models_folder(), device="cpu")
result = analyze_video(sys.argv[1], model, AnalysisOptions(get_preset("low"), chunk_size=8))
arrays = {}
def collect(prefix, value):  # every array of the result, however deep
    if isinstance(value, np.ndarray):
        arrays[prefix] = value
    elif isinstance(value, dict):
        for key, inner in value.items():
            collect(f"{prefix}.{key}", inner)
collect("result", result.model_dump())
np.savez(sys.argv[2], **arrays)
print(json.dumps({"numerics": result.model.numerics, "torch": torch.backends.cpu.get_cpu_capability()}))
"""


def _analyse(video, out, **env) -> tuple[dict[str, np.ndarray], dict]:
    environment = {k: v for k, v in os.environ.items() if k not in {*numerics.PINS, *AVX2_CPU}}
    environment.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **env)
    done = subprocess.run([sys.executable, "-c", ANALYSE, str(video), str(out)], env=environment, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out) as data:
        return {key: data[key] for key in data.files}, json.loads(done.stdout.strip().splitlines()[-1])


def _differences(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> list[str]:
    return [key for key in first if first[key].tobytes() != second[key].tobytes()]


@pytest.fixture(scope="module")
def clip(pose_models, tmp_path_factory):
    from benchmarks import pose_parity

    folder = tmp_path_factory.mktemp("numerics")
    return pose_parity.make_clip(folder / "demo.mp4", "demo"), folder


def test_the_pin_holds_in_this_process_and_is_recorded():
    described = numerics.in_force()
    assert described == {"isa": "avx2", "pinned": True}
    import torch

    assert torch.backends.cpu.get_cpu_capability() in ("AVX2", "DEFAULT")  # DEFAULT: a CPU without AVX2


def test_an_analysis_is_bit_identical_on_cpus_with_and_without_avx512(clip):
    video, folder = clip
    here, told = _analyse(video, folder / "here.npz")
    assert told["numerics"] == {"isa": "avx2", "pinned": True}
    as_on_avx2, _ = _analyse(video, folder / "avx2.npz", **AVX2_CPU)
    assert len(here) > 10 and np.isfinite(here["result.keypoints"]).any()  # the person was found: there is something to compare
    assert _differences(here, as_on_avx2) == []


def test_without_the_pin_this_cpus_own_kernels_give_other_bits(clip):
    """The control: the comparison above can see a difference, and the pin is what removes it."""
    video, folder = clip
    if "avx512f" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("the control needs a CPU with AVX-512: without it the CPU's own kernels are AVX2's")
    native, told = _analyse(video, folder / "native.npz", **UNPINNED)
    assert told["numerics"]["pinned"] is False
    as_on_avx2, _ = _analyse(video, folder / "avx2-unpinned.npz", **{**UNPINNED, **AVX2_CPU})
    assert _differences(native, as_on_avx2)
