"""Real video files, made by the tests with PyAV (FFmpeg's encoders)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


def moving_scene(index: int, width: int, height: int) -> np.ndarray:
    """A frame with a red marker in the top-left corner and a bar that moves over time."""
    frame = np.full((height, width, 3), 40, np.uint8)
    frame[: height // 4, : width // 4] = (230, 20, 20)
    x = (index * 3) % width
    frame[height // 2:, x:x + 4] = (20, 200, 20)
    return frame


def make_video(path: str | Path, *, frames: int = 30, width: int = 64, height: int = 48, fps: int = 10,
               codec: str = "libx264", display_rotation: int | None = None,
               scene: Callable[[int, int, int], np.ndarray] = moving_scene, gop: int = 10) -> Path:
    """Encode ``frames`` frames of ``scene``; ``display_rotation`` sets a phone-style rotation flag."""
    import av

    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"g": str(gop), "preset": "ultrafast"}
        if display_rotation is not None:
            stream.set_display_rotation(display_rotation)
        for index in range(frames):
            image = av.VideoFrame.from_ndarray(scene(index, width, height), format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
