"""The sparse 1x1 convolution kernel (``sparse_pointwise.cpp``): built ahead of time, loaded if it was.

``make install`` builds it (``python -m pipeline.pose.sparse_kernel``, with Torch's C++ extension tools: g++ and
ninja) into ``_native/`` beside this module, under a name that holds Torch's version and the source's digest, so a
newer Torch or an edited source is never served a stale library; ``deploy/Dockerfile`` builds it into the image.
Nothing compiles at run time: where the library was not built (an install without a compiler), or the CPU lacks
AVX2 and FMA, :func:`load` answers None, the fused program keeps oneDNN's dense 1x1 convolutions, and the result
records that the detector's numbers are not pinned (``model.numerics``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import torch

SOURCE = Path(__file__).with_name("sparse_pointwise.cpp")
NAME = "ergo_sparse_pointwise"
#: No contraction of a*b+c the source does not ask for: the sum's order and roundings are the source's own.
FLAGS = ["-O3", "-ffp-contract=off"]


def csr(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A (outputs, inputs) weight matrix as the kernel takes it: each output's first non-zero's place (and one past
    the last), the non-zeros' input channels, their values, in order of output then input."""
    nonzero = matrix != 0
    rows = torch.cat([torch.zeros(1, dtype=torch.int32), nonzero.sum(1).cumsum(0).to(torch.int32)])
    return rows, nonzero.nonzero()[:, 1].to(torch.int32).contiguous(), matrix[nonzero].contiguous()


def build_folder() -> Path:
    """Where the library for this Torch and this source lives."""
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(FLAGS).encode()).hexdigest()[:12]
    return Path(__file__).with_name("_native") / f"torch-{torch.__version__}-{digest}"


def build() -> Path:
    """Compiles the kernel (half a minute to a minute on two cores) unless this source's library for this Torch is
    there, and removes the builds for other sources or Torches; returns the library's path."""
    from torch.utils.cpp_extension import load

    folder = build_folder()
    if _library(folder).exists():
        return _library(folder)
    folder.mkdir(parents=True, exist_ok=True)
    load(NAME, [str(SOURCE)], extra_cflags=FLAGS, build_directory=str(folder), verbose=False)
    for stale in folder.parent.iterdir():
        if stale != folder:
            shutil.rmtree(stale)
    return _library(folder)


def _library(folder: Path) -> Path:
    return folder / f"{NAME}.so"


@cache
def load() -> ModuleType | None:
    """The built kernel if it is there and this CPU can run it; else None (the caller keeps oneDNN)."""
    library = _library(build_folder())
    if not library.exists():
        return None
    spec = importlib.util.spec_from_file_location(NAME, library)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module if module.supported() else None


if __name__ == "__main__":
    print(build())  # a failed build raises: `make install` stops there
    if load() is None:  # built, but of no use here: the analysis runs, and records that its numbers are not pinned
        print("The sparse kernel was built but this CPU cannot run it (no AVX2 or FMA): the detector runs on oneDNN alone, "
              "and the results record that their numbers are not pinned.", file=sys.stderr)
