"""Can the benchmark's reference be trusted?  Checks of the triangulated skeleton's geometry (:mod:`benchmarks.accuracy`).

Two checks, each against something the reference does not fit to:

* **the head's shape** (:func:`head_shape`), against anthropometry: adults' ears (tragion to tragion) are about
  14-15 cm apart, and the nose's tip lies about 10-12 cm ahead of the ears' midpoint (tragion to subnasale about
  12 cm, the nose protruding about 2 more; Farkas' craniofacial norms).  The neck is measured to the ears' midpoint,
  so where the reference's ears sit ahead of or behind the nose is what moves its neck angle;
* **how the views agree on the hands** (:func:`hand_views`): each view's reprojection error against the point
  triangulated from the views that agree, and how often each view is left out.  A hand hidden behind the body is
  guessed by the view that cannot see it; a reference wrist is only as good as the views it rests on.
"""

from __future__ import annotations

import warnings

import numpy as np

#: Anthropometry the head's shape is held against (centimetres): ear to ear, and the nose's tip ahead of the ears'
#: midpoint (:mod:`benchmarks.reference_checks`' docstring).
HEAD_BREADTH_CM = (14.0, 15.5)
NOSE_AHEAD_CM = (10.0, 12.0)
#: The hand's points, whose views :func:`hand_views` reports.
HAND_POINTS = ("wrist", "index", "pinky")


def _median(values: np.ndarray, scale: float = 1.0) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN
        median = np.nanmedian(values)
    return round(float(median * scale), 1) if np.isfinite(median) else None


def body_forward(skeleton: np.ndarray, names: list[str]) -> np.ndarray:
    """(n, 3) the person's horizontal forward in the laboratory (z up), square to the shoulders' left-right axis."""
    left = skeleton[:, names.index("left_shoulder")] - skeleton[:, names.index("right_shoulder")]
    left = left * np.array([1.0, 1.0, 0.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        left = left / np.linalg.norm(left, axis=-1, keepdims=True)
    return np.cross(left, [0.0, 0.0, 1.0])


def head_shape(skeleton: np.ndarray, mid_ear: np.ndarray, names: list[str], mid_ear_px: dict[str, np.ndarray],
               nose_px: dict[str, np.ndarray]) -> dict:
    """The triangulated head against anthropometry (:data:`HEAD_BREADTH_CM`, :data:`NOSE_AHEAD_CM`): medians over the
    frames of the ears' distance, and of the nose's tip ahead of (forward) and below the ears' midpoint (each view's
    midpoint triangulated); and per view, the median reprojection error of the ears' midpoint and of the nose."""
    nose = skeleton[:, names.index("nose")] - mid_ear
    ears = np.linalg.norm(skeleton[:, names.index("left_ear")] - skeleton[:, names.index("right_ear")], axis=-1)
    return {"ear_to_ear_cm": _median(ears, 100), "nose_ahead_cm": _median(np.sum(nose * body_forward(skeleton, names), axis=-1), 100),
            "nose_below_cm": _median(-nose[:, 2], 100), "expected": {"ear_to_ear_cm": HEAD_BREADTH_CM, "nose_ahead_cm": NOSE_AHEAD_CM},
            "mid_ear_px": {camera: _median(errors) for camera, errors in mid_ear_px.items()},
            "nose_px": {camera: _median(errors) for camera, errors in nose_px.items()}}


def hand_views(cameras: list[str], names: list[str], errors: np.ndarray, used: np.ndarray, seen: np.ndarray) -> dict:
    """Per hand point (:data:`HAND_POINTS`, both sides): the share of frames it is triangulated; per view, the share of
    frames it sees the point, the share it is left out of those, and its median reprojection error where it sees it
    (against the point triangulated from the others where it is left out).  ``errors``, ``used``, ``seen``: (c, n, k)."""
    report = {}
    for point in (f"{side}_{part}" for part in HAND_POINTS for side in ("left", "right")):
        k = names.index(point)
        report[point] = {"triangulated": round(float(used[:, :, k].any(0).mean()), 2), "views": {
            camera: {"sees": round(float(seen[c, :, k].mean()), 2),
                     "left_out": round(float((seen[c, :, k] & ~used[c, :, k]).sum() / max(int(seen[c, :, k].sum()), 1)), 2),
                     "px": _median(np.where(seen[c, :, k], errors[c, :, k], np.nan))}
            for c, camera in enumerate(cameras)}}
    return report
