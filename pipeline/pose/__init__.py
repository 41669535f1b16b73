"""Pose models behind one interface, loaded once per process."""

from __future__ import annotations

import functools

from .base import COCO_KEYPOINTS, PoseModel, PoseModelUnavailable, PoseOutput

MODELS = ("keypointrcnn",)


@functools.lru_cache(maxsize=2)
def load_pose_model(name: str = "keypointrcnn", weights: str | None = None, device: str | None = None) -> PoseModel:
    """The named model; cached, since a worker runs many jobs with the same one."""
    if name == "keypointrcnn":
        from .keypointrcnn import KeypointRCNN

        return KeypointRCNN(weights, device=device)
    raise PoseModelUnavailable(f"Unknown pose model '{name}'; available: {', '.join(MODELS)}.")


__all__ = ["COCO_KEYPOINTS", "MODELS", "PoseModel", "PoseModelUnavailable", "PoseOutput", "load_pose_model"]
