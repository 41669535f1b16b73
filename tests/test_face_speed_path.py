"""The face search's faster steps compute what the slower ones did: the network's inputs cut with OpenCV's affine warp
are the perspective warp's bit for bit (pipeline.pose.blazeface.crops), and a face box blurred on a whole shrink
factor (pipeline.evidence._blurred) is as blurred as at full size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.evidence import _blurred
from pipeline.pose.blazeface import INPUT_SIZE, crops, squares
from pipeline.pose.image_to_tensor import Rect, warp


def scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A frame with detail at every scale: noise, smoothed at several sizes."""
    rng = np.random.default_rng(seed)
    layers = [cv2.resize(rng.integers(0, 256, (max(1, height // k), max(1, width // k), 3), dtype=np.uint8), (width, height),
                         interpolation=cv2.INTER_LINEAR).astype(float) for k in (1, 4, 16)]
    return np.clip(sum(layers) / len(layers), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(960, 540), (640, 360), (854, 480), (1280, 720), (1001, 563), (540, 960), (100, 90)])
def test_the_network_inputs_are_the_perspective_warps_bit_for_bit(size):
    """Every square a search reads (fine tiles at fractional places, coarse ones shrunk, the whole frame letterboxed
    with black borders, which the affine warp would round apart at 854x480), in frames of the analysed sizes, odd
    ones, and a turned square."""
    frame = scene(*size)
    rects = [*squares(*size), Rect((size[0] / 3, size[1] / 2), 128.0, 128.0, 0.3)]
    assert torch_equal(crops(frame, rects), warp(np.broadcast_to(frame, (len(rects), *frame.shape)), rects, INPUT_SIZE, "zero", (-1.0, 1.0)))


def torch_equal(a, b) -> bool:
    return a.shape == b.shape and bool((a == b).all())


@pytest.mark.parametrize("shape", [(1, 1), (3, 50), (37, 23), (20, 140), (128, 128), (331, 419), (540, 960), (60, 900)])
def test_a_blurred_box_keeps_its_size_and_is_as_blurred_as_at_full_size(shape):
    """Boxes of any size (factors that do not divide their sides, boxes thinner than the factor), each under the blur
    pipeline.evidence.blur gives it (a seventh of its width): the same size back, and away from its edges within 2
    grey levels of the Gaussian blur at full size, a tenth of the detail the blur takes away (measured: 1.5 at most,
    where a box is thinner than its blur is wide; 1.6 with the fractional factor before)."""
    region = scene(shape[1], shape[0], seed=shape[0])
    sigma = max(4.0, shape[1] / 7)
    blurred = _blurred(region, sigma)
    assert blurred.shape == region.shape and blurred.dtype == np.uint8
    full = cv2.GaussianBlur(region, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE).astype(float)
    inner = tuple(slice(min(n // 2, int(sigma)), max(n // 2 + 1, n - int(sigma))) for n in shape)  # away from the edges
    error, detail = (np.abs(image.astype(float) - full)[inner].mean() for image in (blurred, region))
    assert error < 2 and (detail > 20 or shape == (1, 1))
