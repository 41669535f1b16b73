"""The same numbers on every x86-64 CPU: the numeric libraries' instruction sets, pinned before they load.

Torch, MKL, oneDNN, NumPy and OpenCV each choose their kernels by the CPU they
find: on an AVX-512 machine MKL multiplies matrices, and NumPy computes
``arccos``, ``arctan2`` and ``exp``, with other instructions than on an AVX2
machine, and the last bits of their results differ.  A track amplifies such
bits (each frame's crop comes from the frame before), so without a pin the same
video gives other landmarks, and on some frames other scores, on two machines.

:func:`pin` asks every library for its AVX2 kernels (:data:`PINS`), which every
x86-64 server CPU of the last ten years has, Intel's and AMD's.  The variables
are read when each library loads or first computes, so the pin must come first:
it runs when :mod:`pipeline` is imported, which is where the project's processes
first import NumPy and Torch.  A variable already set wins (an operator's
choice, or a test simulating another machine).  :func:`in_force` says whether
the pin holds in this process; the result records it (``model.numerics``).

Not pinned: oneDNN, Torch's convolutions (its AVX2 and AVX-512 kernels gave the
same bits here, and capping it at AVX2 made keypointrcnn a hundred times
slower).  Not identical across machines: a CPU without AVX2 (its kernels are
older ones), a GPU (other kernels altogether), and keypointrcnn's batches on
another number of cores (Torch splits the sums by thread).
"""

from __future__ import annotations

import os
import sys

#: The instruction set every library is held to.
ISA = "avx2"
#: Each library's variable and the value that holds it to AVX2 (read when the library loads or first computes).
PINS = {
    "ATEN_CPU_CAPABILITY": "avx2",  # Torch's own kernels
    "MKL_CBWR": "AVX2,STRICT",  # Torch's matrix products (MKL's conditional numerical reproducibility)
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # NumPy's AVX-512 (SVML) math functions
    "OPENBLAS_CORETYPE": "Haswell",  # NumPy's matrix products
    "OPENCV_CPU_DISABLE": "AVX512F,AVX512-SKX",  # OpenCV's dispatched kernels
}
#: Libraries whose kernels are chosen at import: pinning after them does not hold.
_CHOSEN_AT_IMPORT = ("numpy", "cv2")


def pin() -> None:
    """Hold the numeric libraries to :data:`ISA` in this process and the processes it starts (unless set)."""
    inherited = all(os.environ.get(name) == value for name, value in PINS.items())  # a parent process pinned them
    _late[:] = [] if inherited else [module for module in _CHOSEN_AT_IMPORT if module in sys.modules]
    for name, value in PINS.items():
        os.environ.setdefault(name, value)


#: Modules that were already loaded, unpinned, when :func:`pin` ran.
_late: list[str] = []


def in_force(unpinned: dict[str, str] | None = None) -> dict:
    """What holds in this process, for the result: the instruction set, or why it is not held (``unpinned``: the
    model's own parts that are not, :meth:`pipeline.pose.base.PoseModel.unpinned`)."""
    changed = sorted(name for name, value in PINS.items() if os.environ.get(name) != value)
    reasons = {**({"loaded_before_pin": list(_late)} if _late else {}), **({"set_otherwise": changed} if changed else {}),
               **({} if _cpu_has_avx2() else {"cpu": "without AVX2: its libraries run older kernels"}), **(unpinned or {})}
    return {"isa": "not pinned" if reasons else ISA, "pinned": not reasons, **reasons}


def _cpu_has_avx2() -> bool:
    import torch

    # Torch falls back from the pinned AVX2 to its oldest kernels where the CPU lacks AVX2 (or FMA)
    return torch.backends.cpu.get_cpu_capability() != "DEFAULT"
