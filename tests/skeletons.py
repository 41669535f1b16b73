"""Synthetic skeletons for the angle tests: a worker placed in the camera's axes (x right, y down, z away, metres),
turned about the vertical, and projected straight onto the picture, so that the image angles are exactly what a
camera square to the body's plane would see."""

from __future__ import annotations

import numpy as np

from pipeline.angles import AngleSettings
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS

NAMES = list(BLAZEPOSE_KEYPOINTS)
SETTINGS = AngleSettings()


def standing(knee: float = 0.0, elbow: float = 0.0) -> dict[str, np.ndarray]:
    """A worker facing the camera (forward is -z), metres, y down: the right knee and the right elbow bent forward by
    ``knee`` and ``elbow`` degrees (the forearm and shank swinging in the body's sagittal plane)."""
    k, e = np.radians(knee), np.radians(elbow)
    body = {"left_hip": [0.1, 0.0, 0.0], "right_hip": [-0.1, 0.0, 0.0],
            "left_shoulder": [0.18, -0.5, 0.0], "right_shoulder": [-0.18, -0.5, 0.0],
            "left_ear": [0.07, -0.68, -0.03], "right_ear": [-0.07, -0.68, -0.03], "nose": [0.0, -0.66, -0.12],
            "left_knee": [0.1, 0.45, 0.0], "left_ankle": [0.1, 0.9, 0.0],
            "right_knee": [-0.1, 0.45, 0.0], "right_ankle": [-0.1, 0.45 + 0.45 * np.cos(k), 0.45 * np.sin(k)],
            "left_elbow": [0.2, -0.2, 0.0], "left_wrist": [0.2, 0.05, 0.0],
            "right_elbow": [-0.2, -0.2, 0.0], "right_wrist": [-0.2, -0.2 + 0.25 * np.cos(e), -0.25 * np.sin(e)]}
    return {name: np.array(point) for name, point in body.items()}


def turned(body: dict[str, np.ndarray], azimuth: float) -> tuple[np.ndarray, np.ndarray]:
    """(1, k, 3) world points of ``body`` turned about the vertical so that the camera sees it from ``azimuth``
    (0 in front, 90 from its left side, 180 behind), and the (1, k, 3) image keypoints: x, y in pixels, confidence."""
    a = np.radians(azimuth)
    turn = np.array([[np.cos(a), 0.0, -np.sin(a)], [0.0, 1.0, 0.0], [np.sin(a), 0.0, np.cos(a)]])
    world = np.full((1, len(NAMES), 3), np.nan)
    for name, point in body.items():
        world[0, NAMES.index(name)] = turn @ point
    seen = np.isfinite(world).all(-1)
    image = np.concatenate([500 + 400 * world[..., :2], seen[..., None].astype(float)], axis=-1)  # straight onto x, y
    return world, np.nan_to_num(image)
