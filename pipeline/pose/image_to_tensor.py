"""Rotated rectangles of frames as network inputs, cut out exactly as MediaPipe's CPU graphs cut them.

MediaPipe's ``ImageToTensorCalculator`` (its OpenCV converter) maps the corners
of a rotated rectangle (``cv::boxPoints``) onto the corners of the output
tensor (``cv::getPerspectiveTransform``) and fills it with
``cv::warpPerspective``: OpenCV's bilinear remap of 8-bit pixels, at positions
rounded to 1/32 of a pixel, rounded to whole levels, then scaled to the
network's range.  Outside the frame it repeats the border (the landmark crop,
the calculator's default) or reads black (the detector's letterbox,
``BORDER_ZERO``: -1 in the detector's range), and a frame is shrunk without
smoothing.  Here the same OpenCV calls do it, so the crops are MediaPipe's
level for level: the tracker feeds each frame's answer into the next frame's
crop, and crops one level apart in 0.07% of their values moved the first
frames' landmarks by 8 px.  OpenCV 5 changed this arithmetic (1.3% of the
values differ from OpenCV 4's), hence ``opencv-python-headless<5``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import torch

Border = Literal["replicate", "zero"]
_BORDERS = {"replicate": cv2.BORDER_REPLICATE, "zero": cv2.BORDER_CONSTANT}


@dataclass(frozen=True)
class Rect:
    """A rotated rectangle in image pixels (OpenCV's convention: pixel ``i`` at coordinate ``i``)."""

    center: tuple[float, float]
    width: float
    height: float
    rotation: float = 0.0  # radians; the rectangle's x axis is (cos, sin) in the image (y grows downwards)


def letterbox_rect(width: int, height: int) -> Rect:
    """The whole frame, padded to a square about its centre (``keep_aspect_ratio`` for a square tensor)."""
    side = float(max(width, height))
    return Rect((width / 2, height / 2), side, side)


def _corners(size: int) -> np.ndarray:
    """Where the rectangle's corners go, in ``cv::boxPoints``'s order (bottom-left, top-left, top-right, bottom-right)."""
    return np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)


def corners_to(rect: Rect, size: int) -> np.ndarray:
    """The 3x3 matrix that takes ``rect`` of a frame onto a ``size`` x ``size`` crop, as MediaPipe computes it."""
    # MediaPipe hands OpenCV float32 values, the angle in degrees computed as rotation * 180.f / M_PI
    angle = float(np.float32(rect.rotation) * np.float32(180)) / math.pi
    corners = cv2.boxPoints(((rect.center[0], rect.center[1]), (rect.width, rect.height), angle))
    return cv2.getPerspectiveTransform(corners, _corners(size))


def warp(frames: np.ndarray, rects: list[Rect], size: int, border: Border, value_range: tuple[float, float]) -> torch.Tensor:
    """(n, size, size, 3) float32 crops in ``value_range`` of ``rects`` in ``frames`` ((n, h, w, 3) uint8, one per rect)."""
    crops = np.empty((len(rects), size, size, 3), np.uint8)
    for crop, frame, rect in zip(crops, frames, rects):
        cv2.warpPerspective(np.ascontiguousarray(frame), corners_to(rect, size), (size, size), dst=crop, flags=cv2.INTER_LINEAR,
                            borderMode=_BORDERS[border], borderValue=0)
    low, high = value_range
    return torch.from_numpy(crops).float().mul_((high - low) / 255).add_(low)
