"""A demo video of a person whose posture changes, made from a photo that scikit-image ships.

The photo (``skimage.data.astronaut``, public domain, NASA) is turned about a
point at the bottom of the frame, between the hips, so the worker leans to the
side and straightens up again, and drifts a little so the tracker has
something to follow:

=========  =======================================
seconds    posture
=========  =======================================
0 - 3      upright
3 - 5      leaning over to ``LEAN_DEGREES``
5 - 9      held (a sustained posture)
9 - 11     straightening up
11 - 14    upright
=========  =======================================
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .video import write_video

LEAN_DEGREES = 40.0
SECONDS = 14.0
#: (time, lean) key points, linearly interpolated.
SCHEDULE = ((0.0, 0.0), (3.0, 0.0), (5.0, LEAN_DEGREES), (9.0, LEAN_DEGREES), (11.0, 0.0), (SECONDS, 0.0))
WIDTH, HEIGHT = 768, 576
BACKGROUND = 96


def lean_at(seconds: float) -> float:
    times, leans = zip(*SCHEDULE)
    return float(np.interp(seconds, times, leans))


def _photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()  # 512 x 512 RGB, upper body facing the camera


def frames(fps: int = 10) -> Iterator[np.ndarray]:
    """The demo's frames, (HEIGHT, WIDTH, 3) uint8 RGB."""
    import torch
    import torch.nn.functional as F

    photo = _photo()
    canvas = np.full((HEIGHT, WIDTH, 3), BACKGROUND, np.uint8)
    top, left = HEIGHT - photo.shape[0], (WIDTH - photo.shape[1]) // 2
    canvas[top:, left:left + photo.shape[1]] = photo
    source = torch.from_numpy(canvas).permute(2, 0, 1)[None].float()
    half = np.array([WIDTH / 2, HEIGHT / 2])
    pivot = np.array([WIDTH / 2, HEIGHT])  # between the hips, just below the frame
    for index in range(int(SECONDS * fps)):
        seconds = index / fps
        angle = math.radians(lean_at(seconds))
        drift = np.array([30 * math.sin(2 * math.pi * seconds / SECONDS), 0.0])  # pixels, sideways
        # Output pixel p shows the canvas at pivot + R (p - pivot - drift), in grid_sample's [-1, 1] coordinates.
        turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        matrix = turn * half[None, :] / half[:, None]
        shift = (pivot + turn @ (half - pivot - drift)) / half - 1
        theta = torch.tensor(np.concatenate([matrix, shift[:, None]], axis=1)[None], dtype=torch.float32)
        grid = F.affine_grid(theta, [1, 3, HEIGHT, WIDTH], align_corners=False)
        turned = F.grid_sample(source - BACKGROUND, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + BACKGROUND
        yield turned[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()


def make_demo_video(path: str | Path, fps: int = 10) -> Path:
    """Write the demo video (H.264, 14 s) to ``path``."""
    return write_video(path, frames(fps), fps=fps)
