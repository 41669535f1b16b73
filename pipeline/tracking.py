"""Follow the main worker across frames.

The camera is set up to film one worker, but others walk through.  The main
worker is the largest person, and once chosen is followed by overlap with the
previous frame's box, so a passer-by does not take over for a frame.  Frames
with nobody are reported as missing, never as a person at zero angles.
"""

from __future__ import annotations

import numpy as np

from .boxes import area, iou
from .pose.base import PoseOutput

#: Weight of overlap with the previous frame against relative size.
CONTINUITY_WEIGHT = 1.0


def select_main_person(pose: PoseOutput, min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keypoints (n, k, 3), box (n, 5), detected (n,)) of the main worker in each frame."""
    frames, _, count, _ = pose.keypoints.shape
    keypoints = np.full((frames, count, 3), np.nan, np.float32)
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
        boxes[index] = candidates[chosen]
        detected[index] = True
        previous = candidates[chosen, :4]
    return keypoints, boxes, detected
