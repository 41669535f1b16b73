"""The foreshortening experiment of ``benchmarks/trunk_depth.py`` recovers a trunk's depth where the image's length
says it, and keeps BlazePose's direction across the view and its depth's sign."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.trunk_depth import foreshortened, trunk_variants
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS


def _trunk(out_of_plane: float, length: float = 0.5) -> np.ndarray:
    """A trunk leaning ``out_of_plane`` degrees away from the camera (camera axes: x right, y down, z away)."""
    a = math.radians(out_of_plane)
    return np.array([[0.0, -length * math.cos(a), length * math.sin(a)]])


def test_the_depth_follows_the_share_of_the_length_across_the_view():
    for angle in (10.0, 35.0, 60.0):
        flat = _trunk(angle) * [1.0, 1.0, 0.3]  # BlazePose's depth too shallow
        fixed = foreshortened(flat, np.array([math.cos(math.radians(angle))]), blended=False)
        np.testing.assert_allclose(fixed / np.linalg.norm(fixed), _trunk(angle) / 0.5, atol=1e-9)
        toward = foreshortened(flat * [1.0, 1.0, -1.0], np.array([math.cos(math.radians(angle))]), blended=False)
        assert toward[0, 2] == -fixed[0, 2]  # the sign stays BlazePose's
    shallow = _trunk(30.0) * [1.0, 1.0, 0.1]
    blended = foreshortened(shallow, np.array([math.cos(math.radians(30.0))]), blended=True)
    full = foreshortened(shallow, np.array([math.cos(math.radians(30.0))]), blended=False)
    # half its length in depth (sine 0.5): half-way between BlazePose's depth and the foreshortening's
    assert blended[0, 2] == pytest.approx((full[0, 2] + shallow[0, 2]) / 2, abs=1e-12)


def test_the_image_variant_takes_the_full_length_from_the_longest_frames():
    angles = [0.0] * 10 + [40.0] * 5
    names = list(BLAZEPOSE_KEYPOINTS)
    world = np.zeros((len(angles), len(names), 3))
    keypoints = np.zeros((len(angles), len(names), 3))
    keypoints[..., 2] = 0.9
    for frame, angle in enumerate(angles):
        trunk = _trunk(angle)[0]
        for side, offset in (("left", 0.1), ("right", -0.1)):
            world[frame, names.index(f"{side}_hip")] = [offset, 0.0, 0.0]
            world[frame, names.index(f"{side}_shoulder")] = [offset * 1.8 + trunk[0], trunk[1], trunk[2] * 0.2]  # shallow depth
            keypoints[frame, names.index(f"{side}_hip"), :2] = [offset * 400, 0.0]
            keypoints[frame, names.index(f"{side}_shoulder"), :2] = (np.array([offset * 1.8, 0.0]) + trunk[:2]) * 400
    variants = trunk_variants(world, keypoints, names, 0.3)
    image = variants["image"]
    recovered = np.degrees(np.arctan2(image[:, 2], -image[:, 1]))
    np.testing.assert_allclose(recovered, angles, atol=1e-6)
    assert np.degrees(np.arctan2(variants["3d"][-1, 2], -variants["3d"][-1, 1])) < 20  # what BlazePose's depth said
