"""Scene cuts from the frames' colours (pipeline/scenes.py): the real montage's cuts are found, movement is not a cut."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import scenes


def scene(seed: int, shift: int = 0) -> np.ndarray:
    """A frame of coloured blocks (a street-like mix of colours), its content moved ``shift`` pixels sideways."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)
    return np.roll(np.repeat(np.repeat(blocks, 40, axis=0), 40, axis=1), shift, axis=1)


def test_a_camera_panning_over_the_same_scene_is_not_a_cut_and_a_new_scene_is():
    first = scenes.colour_histogram(scene(1))
    assert not scenes.is_cut(first, scenes.colour_histogram(scene(1, shift=60)))
    assert scenes.is_cut(first, scenes.colour_histogram(scene(2)))
    assert not scenes.is_cut(None, first)  # the first frame seen starts nothing


def test_the_histogram_counts_every_sampled_pixel_and_the_distance_is_a_share():
    histogram = scenes.colour_histogram(scene(1))
    assert histogram.sum() == scenes.GRID ** 2 and histogram.dtype == np.int64
    black, white = (scenes.colour_histogram(np.full((90, 160, 3), value, np.uint8)) for value in (0, 255))
    assert scenes.distance(black, white) == 1.0 and scenes.distance(black, black) == 0.0


def test_a_frame_that_is_not_8_bit_rgb_is_refused_in_words():
    with pytest.raises(ValueError, match="uint8"):
        scenes.colour_histogram(np.zeros((10, 10, 3), np.float32))
