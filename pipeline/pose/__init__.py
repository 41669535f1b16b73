"""Pose models behind one interface, loaded once per process."""

from __future__ import annotations

import functools
import os

from .base import COCO_KEYPOINTS, PoseModel, PoseModelUnavailable, PoseOutput

MODELS = ("blazepose", "keypointrcnn")
DEFAULT_MODEL = "blazepose"


def default_model_name() -> str:
    """``ERGO_POSE_MODEL``, else BlazePose: pretrained, offline, with 3D points and hands."""
    return os.environ.get("ERGO_POSE_MODEL") or DEFAULT_MODEL


def load_pose_model(name: str | None = None, weights: str | None = None, device: str | None = None) -> PoseModel:
    """The named model (default: :func:`default_model_name`); cached, since a worker runs many jobs with the same one.

    ``weights``: for blazepose the variant (lite, full, heavy); for keypointrcnn a file, default or random.
    """
    return _load(name or default_model_name(), weights, device)



@functools.lru_cache(maxsize=2)
def _load(name: str, weights: str | None, device: str | None) -> PoseModel:
    if name == "blazepose":
        from .blazepose import BlazePose

        return BlazePose(weights, device=device)
    if name == "keypointrcnn":
        from .keypointrcnn import KeypointRCNN

        return KeypointRCNN(weights, device=device)
    raise PoseModelUnavailable(f"Unknown pose model '{name}'; available: {', '.join(MODELS)}.")


__all__ = ["COCO_KEYPOINTS", "DEFAULT_MODEL", "MODELS", "default_model_name", "PoseModel", "PoseModelUnavailable", "PoseOutput", "load_pose_model"]
