"""Rotated rectangles of frames as network inputs, sampled the way MediaPipe's CPU graphs sample them.

MediaPipe's ``ImageToTensorCalculator`` (its OpenCV converter) maps the four
corners of a rotated rectangle onto the corners of the output tensor and fills
it with ``cv::warpPerspective``: bilinear interpolation with no smoothing of a
shrunk image, on 8-bit pixels, with OpenCV's convention that pixel ``i`` lies
at coordinate ``i``.  Output pixel ``(u, v)`` reads the frame at
``corner + u * width / size * x_axis + v * height / size * y_axis``, rounded to
1/32 of a pixel; the four neighbours' weights are whole 32nds and the result is
rounded to a whole level before it is scaled to the network's range.  All of
this is reproduced integer for integer: the tracker feeds each frame's answer
into the next frame's crop, and there a difference of one level in a few
pixels grew into landmarks tens of pixels apart within a few frames.  Outside the
frame it replicates the border (the landmark crop, the calculator's default)
or reads zeros (the detector's letterbox, ``BORDER_ZERO``: black, -1 in the
detector's range).

Sampling the same points matters: a crop shifted by half a pixel, smoothed
before shrinking, or padded grey instead of replicating moves every landmark
the network finds (issue 11 measured 30 px against 14 px on one photo for the
padding alone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

Border = Literal["replicate", "zero"]
#: OpenCV's remap resolution for 8-bit images: coordinates are kept to 1/32 of a pixel.
SUBPIXELS = 32
#: Added before rounding half up: more than float64's error on these sums, less than their step (1/1024).
HALF_NUDGE = 1e-6


@dataclass(frozen=True)
class Rect:
    """A rotated rectangle in image pixels (OpenCV's convention: pixel ``i`` at coordinate ``i``)."""

    center: tuple[float, float]
    width: float
    height: float
    rotation: float = 0.0  # radians; the rectangle's x axis is (cos, sin) in the image (y grows downwards)

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([math.cos(self.rotation), math.sin(self.rotation)]), np.array([-math.sin(self.rotation), math.cos(self.rotation)])


def letterbox_rect(width: int, height: int) -> Rect:
    """The whole frame, padded to a square about its centre (``keep_aspect_ratio`` for a square tensor)."""
    side = float(max(width, height))
    return Rect((width / 2, height / 2), side, side)


def box_points(rect: Rect) -> np.ndarray:
    """The rectangle's corners as ``cv::RotatedRect::points`` gives them (float32: bottom-left, top-left,
    top-right, bottom-right for an upright rectangle); MediaPipe hands the rotation over in degrees, as a float."""
    angle = float(np.float32(np.float32(rect.rotation) * np.float32(180.0) / np.float32(math.pi)))
    b = np.float32(math.cos(angle * math.pi / 180.0)) * np.float32(0.5)
    a = np.float32(math.sin(angle * math.pi / 180.0)) * np.float32(0.5)
    cx, cy = np.float32(rect.center[0]), np.float32(rect.center[1])
    width, height = np.float32(rect.width), np.float32(rect.height)
    p0 = (cx - a * height - b * width, cy + b * height - a * width)
    p1 = (cx + a * height - b * width, cy - b * height - a * width)
    p2 = (np.float32(2) * cx - p0[0], np.float32(2) * cy - p0[1])
    p3 = (np.float32(2) * cx - p1[0], np.float32(2) * cy - p1[1])
    return np.array([p0, p1, p2, p3], np.float32)


def _sample_points(rect: Rect, size: int) -> torch.Tensor:
    """(size * size, 2) float64: where each output pixel reads the frame, in whole 1/32 pixels (x, y)."""
    bottom_left, top_left, top_right, _ = box_points(rect).astype(np.float64)
    steps = torch.arange(size, dtype=torch.float64) / size
    along = torch.from_numpy(top_right - top_left) * SUBPIXELS  # output x runs from the top-left corner to the top-right one
    down = torch.from_numpy(bottom_left - top_left) * SUBPIXELS
    points = torch.from_numpy(top_left * SUBPIXELS) + steps[None, :, None] * along + steps[:, None, None] * down
    return points.view(-1, 2).round_()  # OpenCV: saturate_cast<int>, to nearest (ties to even)


def warp(frames: torch.Tensor, rects: list[Rect], size: int, border: Border, value_range: tuple[float, float]) -> torch.Tensor:
    """(n, size, size, 3) float tensors in ``value_range`` of ``rects`` in ``frames`` ((n, h, w, 3) uint8, one per rect).

    OpenCV's 8-bit bilinear remap, level for level.  Its positions are whole 32nds of a pixel, so its weights are
    whole 1024ths and its sums whole 1024ths of a level: bilinear interpolation in float64 at the same positions
    computes them to within 1e-10, and rounding half up (with a nudge far below 1/1024 for the exact halves) gives
    OpenCV's level in every pixel (tested against the integer arithmetic on 3.9 million values).  Only the part of
    the frame the crop reads is converted to float64.
    """
    n, height, width, _ = frames.shape
    low, high = value_range
    crops = []
    for frame, rect in zip(frames, rects):
        points = _sample_points(rect, size) / SUBPIXELS  # (size * size, 2) pixels
        # the frame's part that holds every point and its right and lower neighbours: where points fall outside the
        # frame, that part reaches the frame's edge, so repeating (or zeroing) its border is the frame's
        left, top = (int(v) for v in points.min(0).values.floor().clamp(min=0).tolist())
        right, bottom = (int(v) for v in (points.max(0).values.floor() + 1).tolist())
        right, bottom = min(max(right, left + 1), width - 1), min(max(bottom, top + 1), height - 1)
        left, top = max(min(left, right - 1), 0), max(min(top, bottom - 1), 0)  # at least two pixels each way
        part = frame[top:bottom + 1, left:right + 1].permute(2, 0, 1).unsqueeze(0).double()
        # align_corners=True places pixel i at 2i / (extent - 1) - 1: exact to the last bits for whole 32nds
        grid = torch.stack([2 * (points[:, 0] - left) / (right - left) - 1, 2 * (points[:, 1] - top) / (bottom - top) - 1], dim=-1)
        sampled = F.grid_sample(part, grid.view(1, size, size, 2).to(part.device), mode="bilinear",
                                padding_mode="border" if border == "replicate" else "zeros", align_corners=True)
        levels = sampled.add_(0.5 + HALF_NUDGE).floor_()  # half up, as OpenCV's fixed-point rounding
        crops.append(levels[0].permute(1, 2, 0).float().mul_((high - low) / 255).add_(low))
    return torch.stack(crops)
