"""The pose-model interface: a batch of frames in, people with keypoints out.

Every model reports the same array layout, so tracking, angles and scoring
never depend on which model ran.  Models name their keypoints; the angle code
looks joints up by name (``left_shoulder``...), so a model with more points
(BlazePose has 33) plugs in without changes downstream.
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass

import numpy as np

from ..errors import PipelineError

COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)


class PoseModelUnavailable(PipelineError):
    """The model's weights cannot be found or loaded."""

    code = "model_unavailable"


@dataclass
class PoseOutput:
    """Pose of every person found in a batch of frames.

    ``keypoints``: (frames, persons, keypoints, 3) float32: x, y in pixels of
    the input frame and a confidence in [0, 1].  ``boxes``: (frames, persons,
    5) float32: x1, y1, x2, y2, score.  Rows of absent persons are NaN.
    """

    keypoints: np.ndarray
    boxes: np.ndarray

    @classmethod
    def empty(cls, frames: int, persons: int, keypoints: int) -> PoseOutput:
        return cls(np.full((frames, persons, keypoints, 3), np.nan, np.float32), np.full((frames, persons, 5), np.nan, np.float32))

    @classmethod
    def concatenate(cls, outputs: list[PoseOutput]) -> PoseOutput:
        return cls(np.concatenate([o.keypoints for o in outputs]), np.concatenate([o.boxes for o in outputs]))


class PoseModel(abc.ABC):
    #: Registry name (``keypointrcnn``, ``blazepose``).
    name: str
    keypoint_names: tuple[str, ...]
    #: Most persons reported per frame.
    max_persons: int
    #: Boxes scoring below this are not people (0 for random test weights).
    min_person_score: float
    batch_size: int

    @abc.abstractmethod
    def predict(self, frames: np.ndarray) -> PoseOutput:
        """Pose for ``frames`` of shape (n, height, width, 3), uint8 RGB."""

    def describe(self) -> dict:
        """What the result records about the model."""
        return {"name": self.name, "keypoints": list(self.keypoint_names), "batch_size": self.batch_size}


def default_device() -> str:
    import torch

    return os.environ.get("ERGO_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
