"""Pose models behind one interface, chosen by name from a registry and loaded once per process.

The application passes every setting in a :class:`PoseSettings`; nothing here
reads the environment.  A new model registers a loader::

    @register_model("mymodel")
    def _load_mymodel(settings: PoseSettings) -> PoseModel:
        from .mymodel import MyModel
        return MyModel(settings.weights, device=settings.device, batch_size=settings.batch_size)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import PoseModelUnavailable
from .base import COCO_KEYPOINTS, PoseModel, PoseOutput

DEFAULT_MODEL = "blazepose"


@dataclass(frozen=True)
class PoseSettings:
    """Which pose model to load, and how."""

    #: Registry name (see :data:`MODELS`).
    model: str = DEFAULT_MODEL
    #: blazepose: the variant (lite, full, heavy); keypointrcnn: a weights file, ``default`` or ``random``.
    weights: str | None = None
    #: ``cuda``, ``cpu``...; None: CUDA when available, else the CPU.
    device: str | None = None
    #: keypointrcnn: frames per network batch; None: its default for the device.  (BlazePose reads one crop at a
    #: time: each frame's region comes from the frame before.)
    batch_size: int | None = None
    #: Folder of BlazePose's verified ``.tflite`` files (``ergo models fetch`` fills it).
    models_dir: Path | None = None
    #: Torch's intra-op threads on the CPU; None leaves Torch's own choice (see the analysis's ``torch_threads``).
    threads: int | None = None
    #: blazepose: ``fp32`` (default) or ``fp16``/``bf16`` for the landmark network, kept only when it stays within
    #: 0.5 px of fp32 on a reference clip; keypointrcnn: autocast precision (``auto``: fp16 on CUDA, bf16 on CPU).
    precision: str | None = None
    #: blazepose: filter the landmarks over time, as MediaPipe does by default (``smooth_landmarks``).
    smooth: bool = True


_LOADERS: dict[str, Callable[[PoseSettings], PoseModel]] = {}


def register_model(name: str) -> Callable[[Callable[[PoseSettings], PoseModel]], Callable[[PoseSettings], PoseModel]]:
    """Register a loader under ``name``; the loader imports its model's module only when called."""

    def add(loader: Callable[[PoseSettings], PoseModel]) -> Callable[[PoseSettings], PoseModel]:
        _LOADERS[name] = loader
        return loader

    return add


@register_model("blazepose")
def _load_blazepose(settings: PoseSettings) -> PoseModel:
    from .blazepose import BlazePose

    if settings.models_dir is None:
        raise PoseModelUnavailable("BlazePose needs the folder of its model files; run `ergo models fetch`.")
    return BlazePose(settings.weights, models_dir=settings.models_dir, device=settings.device, precision=settings.precision or "fp32",
                     smooth=settings.smooth)


@register_model("keypointrcnn")
def _load_keypointrcnn(settings: PoseSettings) -> PoseModel:
    from .keypointrcnn import KeypointRCNN

    return KeypointRCNN(settings.weights, device=settings.device, batch_size=settings.batch_size, precision=settings.precision or "auto")


#: The registered model names.
MODELS = tuple(_LOADERS)


def load_pose_model(settings: PoseSettings = PoseSettings()) -> PoseModel:
    """The model ``settings`` name, with Torch's threads set for it; cached, since a worker runs many jobs with
    the same one.  The threads are set on every call, the cached model's too: Torch's thread count belongs to
    the process, and a worker that ran another model's job in between must not run this one on that model's
    count (slower, and a model's floating-point sums depend on how many threads split them)."""
    if settings.threads is not None:
        import torch

        torch.set_num_threads(settings.threads)
    return _load(settings)


@functools.lru_cache(maxsize=2)
def _load(settings: PoseSettings) -> PoseModel:
    loader = _LOADERS.get(settings.model)
    if loader is None:
        raise PoseModelUnavailable(f"Unknown pose model '{settings.model}'; available: {', '.join(_LOADERS)}.")
    return loader(settings)


__all__ = ["COCO_KEYPOINTS", "DEFAULT_MODEL", "MODELS", "PoseModel", "PoseModelUnavailable", "PoseOutput", "PoseSettings",
           "load_pose_model", "register_model"]
