"""Follow the main worker across frames.

The camera is set up to film one worker, but others walk through.  The main
worker is the largest person, and once chosen is followed by overlap with the
previous frame's box, so a passer-by does not take over for a frame.  Frames
with nobody are reported as missing, never as a person at zero angles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .boxes import area, iou
from .pose.base import PoseOutput

#: Weight of overlap with the previous frame against relative size.
CONTINUITY_WEIGHT = 1.0


@dataclass
class MainPerson:
    """The main worker in each of n frames; NaN rows (and ``detected`` False) where nobody was found."""

    keypoints: np.ndarray  # (n, k, 3)
    boxes: np.ndarray  # (n, 5)
    detected: np.ndarray  # (n,) bool
    world: np.ndarray | None  # (n, k, 3) metric points, from models that give them


def select_main_person(pose: PoseOutput, min_score: float) -> MainPerson:
    """The main worker in each frame: the largest person scoring ``min_score`` or more, kept by overlap."""
    frames, _, count, _ = pose.keypoints.shape
    keypoints = np.full((frames, count, 3), np.nan, np.float32)
    world = None if pose.world is None else np.full((frames, count, 3), np.nan, np.float32)
    boxes = np.full((frames, 5), np.nan, np.float32)
    detected = np.zeros(frames, bool)
    previous = None
    for index in range(frames):
        candidates = pose.boxes[index]
        valid = np.isfinite(candidates[:, 4]) & (candidates[:, 4] >= min_score)
        if not valid.any():
            continue
        areas = np.where(valid, area(candidates), -1.0)
        score = areas / max(areas.max(), 1e-9)
        if previous is not None:
            score = score + CONTINUITY_WEIGHT * iou(previous, np.nan_to_num(candidates[:, :4]))
        score[~valid] = -np.inf
        chosen = int(np.argmax(score))
        keypoints[index] = pose.keypoints[index, chosen]
        if world is not None:
            world[index] = pose.world[index, chosen]
        boxes[index] = candidates[chosen]
        detected[index] = True
        previous = candidates[chosen, :4]
    return MainPerson(keypoints, boxes, detected, world)
