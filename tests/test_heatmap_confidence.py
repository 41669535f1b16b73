"""The landmark heatmap's sigmoid (pipeline/pose/blazepose_landmarks.py): very negative logits, which the network
gives the cells far from any joint, no longer overflow ``exp`` (a RuntimeWarning in every analysis), and the
confidences and the refined landmarks are the ones the plain sigmoid gave."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pipeline.pose import blazepose_landmarks
from pipeline.pose.blazepose_landmarks import HEATMAP_LOGIT_FLOOR, heatmap_confidence, refine_from_heatmap


def plain_sigmoid(heatmap: np.ndarray) -> np.ndarray:
    """What the refinement computed before: ``exp`` overflows to inf below -88.7 and the confidence is 0 there."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-heatmap.astype(np.float32)))


def test_the_confidence_is_the_plain_sigmoids_to_the_bit_above_the_floor_and_nothing_below_it():
    logits = np.concatenate([np.linspace(HEATMAP_LOGIT_FLOOR, 40, 200_001, dtype=np.float32),
                             np.float32([-88.5, -88.8, -100, -1e4, -np.inf])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow is a RuntimeWarning: here an error
        confidence = heatmap_confidence(logits)
    above = logits >= HEATMAP_LOGIT_FLOOR
    assert confidence.dtype == np.float32
    np.testing.assert_array_equal(confidence[above], plain_sigmoid(logits[above]))
    assert (~above).sum() == 5 and np.all(confidence[~above] < 2e-38) and np.all(plain_sigmoid(logits[~above]) < 2e-38)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refined_landmarks_are_unchanged_and_no_overflow_is_reported(seed, monkeypatch):
    """Heatmaps as the network gives them far from the body (logits down to -1000), with a confident peak near some
    points: the refinement warns of nothing and moves every point exactly where the plain sigmoid moved it."""
    rng = np.random.default_rng(seed)
    heatmap = rng.uniform(-1000, -20, (2, 64, 64, 39)).astype(np.float32)
    points = rng.uniform(-10, 266, (2, 39, 2))
    for image, point in zip(*np.nonzero(rng.random((2, 39)) < 0.6), strict=True):
        col, row = (np.clip(points[image, point] / 4, 0, 63) + rng.integers(-3, 4, 2)).clip(0, 63).astype(int)
        heatmap[image, max(row - 2, 0):row + 3, max(col - 2, 0):col + 3, point] = rng.uniform(-5, 8, 1)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refined = refine_from_heatmap(points, heatmap)
    monkeypatch.setattr(blazepose_landmarks, "heatmap_confidence", plain_sigmoid)
    before = refine_from_heatmap(points, heatmap)
    assert not np.array_equal(refined, points), "no point was refined: the test shows nothing"
    np.testing.assert_array_equal(refined, before)
