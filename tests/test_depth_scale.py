"""The depth scale from bone-length constancy (``benchmarks/depth_scale.py``) on synthetic skeletons: a depth shrunk by
a known factor is found where the person turns and bends, and a person who never turns leaves the depth as it is."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.depth_scale import GRID, MIN_TURN, estimate_depth_scale, rescaled
from tests.skeletons import NAMES, SETTINGS, standing, turned

FRAMES = 60
#: One step of the scales' grid (a factor).
STEP = float(GRID[1] / GRID[0])


def _moving(noise_m: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(FRAMES, k, 3) world points and image keypoints of a worker turning from facing the camera to side-on while
    the right knee and elbow bend 0-60 degrees (their limbs swinging through the line of sight), with Gaussian noise
    of ``noise_m`` metres on every coordinate."""
    frames = [turned(standing(knee=60 * share, elbow=60 * (1 - share)), 90 * share) for share in np.linspace(0, 1, FRAMES)]
    world, image = (np.concatenate(parts) for parts in zip(*frames))
    return world + np.random.default_rng(7).normal(0.0, noise_m, world.shape), image


def _still(noise_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The same pose in every frame, at an angle to the camera (its segments partly in depth), with noise."""
    world, image = turned(standing(knee=40, elbow=40), 45)
    world = np.repeat(world, FRAMES, axis=0)
    return world + np.random.default_rng(7).normal(0.0, noise_m, world.shape), np.repeat(image, FRAMES, axis=0)


@pytest.mark.parametrize("shrink", [0.5, 0.7, 1.4])
def test_a_depth_shrunk_by_a_known_factor_is_recovered(shrink):
    world, image = _moving()
    found = estimate_depth_scale(rescaled(world, shrink), image[..., 2], NAMES, SETTINGS.min_confidence)
    assert found.confidence == "high" and found.turn >= MIN_TURN
    assert found.estimate == pytest.approx(1 / shrink, rel=0.02)  # the grid's steps are 1%
    assert found.scale == found.estimate
    assert found.low / STEP <= 1 / shrink <= found.high * STEP  # the interval, to within the grid's resolution


def test_with_a_centimetre_of_noise_the_shrunk_depth_is_still_found_within_its_interval():
    world, image = _moving(noise_m=0.01)
    found = estimate_depth_scale(rescaled(world, 0.6), image[..., 2], NAMES, SETTINGS.min_confidence)
    assert found.confidence == "high"
    assert found.estimate == pytest.approx(1 / 0.6, rel=0.15)
    assert found.low <= 1 / 0.6 <= found.high


@pytest.mark.parametrize("noise_m", [0.0, 0.01])
def test_a_person_who_never_turns_gives_low_confidence_and_no_change(noise_m):
    world, image = _still(noise_m)
    shrunk = rescaled(world, 0.6)
    found = estimate_depth_scale(shrunk, image[..., 2], NAMES, SETTINGS.min_confidence)
    assert found.confidence == "low"
    assert found.turn < MIN_TURN
    if noise_m == 0.0:  # every scale exactly as constant as every other
        assert (found.low, found.high) == (GRID[0], GRID[-1])
    assert found.scale == 1.0
    assert np.array_equal(rescaled(shrunk, found.scale), shrunk, equal_nan=True)


def test_too_few_segments_seen_give_no_estimate():
    world, image = _moving()
    image[..., 2] = 0.0
    image[:, [NAMES.index("left_hip"), NAMES.index("left_knee")], 2] = 1.0  # one segment seen: nothing to compare
    found = estimate_depth_scale(world, image[..., 2], NAMES, SETTINGS.min_confidence)
    assert (found.confidence, found.scale, found.estimate) == ("none", 1.0, None)


def test_the_grid_reaches_a_factor_four_either_way_in_one_percent_steps():
    assert GRID[0] == pytest.approx(0.25) and GRID[-1] == pytest.approx(4.0)
    assert STEP < 1.0101
