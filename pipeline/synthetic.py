"""Synthetic video files for the tests and benchmarks, encoded with PyAV (FFmpeg's encoders)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .video import write_video


def moving_scene(index: int, width: int, height: int) -> np.ndarray:
    """A frame with a red marker in the top-left corner and a bar that moves over time."""
    frame = np.full((height, width, 3), 40, np.uint8)
    frame[: height // 4, : width // 4] = (230, 20, 20)
    x = (index * 3) % width
    frame[height // 2:, x:x + 4] = (20, 200, 20)
    return frame


def make_video(path: str | Path, *, frames: int = 30, width: int = 64, height: int = 48, fps: int = 10,
               codec: str = "libx264", display_rotation: int | None = None,
               scene: Callable[[int, int, int], np.ndarray] = moving_scene, gop: int = 10,
               bframes: int = 0, preset: str = "ultrafast") -> Path:
    """Encode ``frames`` frames of ``scene`` (see :func:`~pipeline.video.write_video` for the encoder's settings)."""
    return write_video(path, (scene(index, width, height) for index in range(frames)), fps=fps, codec=codec,
                       display_rotation=display_rotation, gop=gop, bframes=bframes, preset=preset)
