"""The pose-model interface: a batch of frames in, people with keypoints out.

Every model reports the same array layout, so tracking, angles and scoring
never depend on which model ran.  Models name their keypoints; the angle code
looks joints up by name (``left_shoulder``...), so a model with more points
(BlazePose has 33) plugs in without changes downstream.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)


#: Why a pose model ended the track of the person it followed, in words (``PoseOutput.ended``'s codes): its region
#: was not where the person detector, asked again, found anyone.
TRACK_ENDED = {1: "the person followed from the frame before was not confirmed: no person detected there at this scene cut",
               2: "the person followed from the frames before was not confirmed: no person detected there at the regular re-check"}


@dataclass
class PoseOutput:
    """Pose of every person found in a batch of frames.

    ``keypoints``: (frames, persons, keypoints, 3) float32: x, y in pixels of
    the input frame and a confidence in [0, 1].  ``boxes``: (frames, persons,
    5) float32: x1, y1, x2, y2, score.  ``world``: (frames, persons,
    keypoints, 3) float32 metric 3D points (x right, y down as in the image, z
    away from the camera, origin between the hips), from models that estimate
    them; None otherwise.  Rows of absent persons are NaN.  ``ended``: (frames,) int8, from models that follow a
    person and check the track (BlazePose): why the track was ended in a frame reported without anyone, a key of
    :data:`TRACK_ENDED` (0: it was not); None from others.  ``cuts``: (frames,) bool, from models that look for
    scene cuts (BlazePose): whether a new shot starts at this frame (the worker may then be anywhere in the
    picture, :mod:`pipeline.continuity`); None from others.
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    world: np.ndarray | None = None
    ended: np.ndarray | None = None
    cuts: np.ndarray | None = None

    @classmethod
    def empty(cls, frames: int, persons: int, keypoints: int, world: bool = False) -> PoseOutput:
        def nan(*shape: int) -> np.ndarray:
            return np.full(shape, np.nan, np.float32)

        return cls(nan(frames, persons, keypoints, 3), nan(frames, persons, 5), nan(frames, persons, keypoints, 3) if world else None)

    @classmethod
    def concatenate(cls, outputs: list[PoseOutput]) -> PoseOutput:
        world = ended = cuts = None
        if any(o.world is not None for o in outputs):
            world = np.concatenate([o.world if o.world is not None else np.full(o.keypoints.shape, np.nan, np.float32) for o in outputs])
        if any(o.ended is not None for o in outputs):
            ended = np.concatenate([o.ended if o.ended is not None else np.zeros(len(o.keypoints), np.int8) for o in outputs])
        if any(o.cuts is not None for o in outputs):
            cuts = np.concatenate([o.cuts if o.cuts is not None else np.zeros(len(o.keypoints), bool) for o in outputs])
        return cls(np.concatenate([o.keypoints for o in outputs]), np.concatenate([o.boxes for o in outputs]), world, ended, cuts)


class PoseModel(abc.ABC):
    #: Registry name (``keypointrcnn``, ``blazepose``).
    name: str
    keypoint_names: tuple[str, ...]
    #: Most persons reported per frame.
    max_persons: int
    #: Boxes scoring below this are not people (0 for random test weights).
    min_person_score: float
    batch_size: int
    #: Whether ``predict`` fills ``PoseOutput.world`` (metric 3D points).
    world_landmarks: bool = False

    @abc.abstractmethod
    def predict(self, frames: np.ndarray) -> PoseOutput:
        """Pose for ``frames`` of shape (n, height, width, 3), uint8 RGB."""

    def predict_sequence(self, frames: np.ndarray) -> PoseOutput:
        """Pose for consecutive frames, in batches of ``batch_size``."""
        return PoseOutput.concatenate([self.predict(frames[start:start + self.batch_size])
                                       for start in range(0, len(frames), self.batch_size)])

    def track(self, frames: np.ndarray, times_us: np.ndarray, state: dict[str, np.ndarray] | None = None
              ) -> tuple[PoseOutput, dict[str, np.ndarray]]:
        """Pose for consecutive sampled frames (at ``times_us``, integer microseconds), continuing from ``state``.

        Returns the poses and the state to continue from: arrays only, so a checkpoint can keep them and a
        resumed analysis goes on exactly as an uninterrupted one.  Models that follow a person from frame to
        frame (BlazePose) override this; others keep no state.
        """
        return self.predict_sequence(frames), {}

    def describe(self) -> dict:
        """What the result records about the model."""
        return {"name": self.name, "keypoints": list(self.keypoint_names), "batch_size": self.batch_size}

    def unpinned(self) -> dict[str, str]:
        """Parts of the model whose last bits depend on the machine, beyond the numeric libraries' pins
        (:func:`pipeline.numerics.in_force`), each with why: none unless a model says so."""
        return {}


def default_device() -> str:
    """CUDA when a GPU is present, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
