"""Time-in-band analysis: for every body part RULA and REBA score, the time its angle spent in each band, and the
sustained postures: runs of one band lasting at least ``SUSTAINED_S`` seconds (a frame without a measurement ends a
run).

Trunk, neck and upper arms keep the bands of the system this project replaces, so that its reports and ours can be
set side by side; they are always reported, as it reported them.  The other parts take the worksheets' bands
(:mod:`pipeline.ergonomics`): the lower arm's 60-100 degrees against a straighter or a more bent elbow, the wrist's
neutral, up to 15 degrees and beyond, REBA's knee bends past 30 and 60 degrees, and trunk and neck side bends past
the job's ``side_bend_threshold`` (where the scoring counts them side-bent).  Each part's neutral band is called
"normal": holding it is no finding.  One of these parts never measured in a job (wrists without hand points, side
bends without 3D points) is left out rather than reported as 0 s.
"""

from __future__ import annotations

import numpy as np

from . import ergonomics as E
from .angles import SIDES
from .assessment import AssessmentParams

SUSTAINED_S = 4.0
#: Makes an inclusive lower bound of a band: the bound given is the band below's upper one.
_EXCLUSIVE = 1e-9

# (label, upper bound inclusive) in increasing order; the last band is open-ended.
# Trunk and neck: a value equal to the bound belongs to the band below it.
REPLACED_BANDS: dict[str, list[tuple[str, float]]] = {
    "trunk": [("backward", -15.0), ("normal", 40.0), ("moderate forward", 60.0), ("strong forward", np.inf)],
    "neck": [("backward", -15.0), ("normal", 25.0), ("moderate", 60.0), ("extreme", np.inf)],
    # Upper arm: < 0 behind the body, [0, 40] normal (0 itself is normal).
    "upper_arm": [("behind body", -_EXCLUSIVE), ("normal", 40.0), ("moderate elevation", 60.0), ("strong elevation", np.inf)],
}
#: Each part reported, in the order shown: (its kind of bands, the angle that measures it, by :mod:`pipeline.angles`).
PARTS: dict[str, tuple[str, str]] = {
    "trunk": ("trunk", "trunk_flexion"), "trunk_side_bend": ("side_bend", "trunk_side_bend"),
    "neck": ("neck", "neck_flexion"), "neck_side_bend": ("side_bend", "neck_side_bend"),
    **{f"upper_arm_{side}": ("upper_arm", f"upper_arm_{side}") for side in SIDES},
    **{f"lower_arm_{side}": ("lower_arm", f"elbow_{side}") for side in SIDES},
    **{f"wrist_{side}": ("wrist", f"wrist_{side}") for side in SIDES},
    **{f"knee_{side}": ("knee", f"knee_{side}") for side in SIDES},
}
#: Parts reported even when never measured: those the system this project replaces always listed.
ALWAYS = tuple(part for part, (kind, _) in PARTS.items() if kind in REPLACED_BANDS)
#: Kinds banded by the size of the angle, whichever way it bends (as the worksheets score them).
UNSIGNED = ("wrist", "side_bend")


def bands(params: AssessmentParams) -> dict[str, list[tuple[str, float]]]:
    """Each kind of part's bands as (label, upper bound inclusive), in increasing order, the last open-ended.  The
    wrist's neutral band follows the job's ``neutral_tolerance`` and the side bends its ``side_bend_threshold``, as
    the scoring does (a tolerance past 15 degrees leaves the wrist's middle band empty)."""
    tolerance, (straight, bent), (moderate, strong) = params.neutral_tolerance, E.LOWER_ARM_NEUTRAL, E.KNEE_BENDS
    return {
        **REPLACED_BANDS,
        "lower_arm": [("extended", straight - _EXCLUSIVE), ("normal", bent), ("flexed", np.inf)],
        "wrist": [("normal", tolerance), ("slightly bent", max(tolerance, E.WRIST_BENT)), ("bent", np.inf)],
        "knee": [("normal", moderate), ("moderate flexion", strong), ("strong flexion", np.inf)],
        "side_bend": [("normal", params.side_bend_threshold), ("side-bent", np.inf)],
    }


def band_of(part_bands: list[tuple[str, float]], angles: np.ndarray) -> np.ndarray:
    """Band index per frame (-1 where the angle is NaN)."""
    bounds = np.array([bound for _, bound in part_bands[:-1]])
    index = np.searchsorted(bounds, angles, side="left")
    return np.where(np.isnan(angles), -1, index)


def time_in_bands(angles: dict[str, np.ndarray], times: np.ndarray, frame_seconds: float,
                  params: AssessmentParams) -> tuple[dict, list[dict]]:
    """(seconds and share of the measured frames per band for each part, sustained postures earliest first)."""
    table, sustained = {}, []
    every = bands(params)
    for part, (kind, angle_name) in PARTS.items():
        series = angles.get(angle_name, np.full(len(times), np.nan))
        if part not in ALWAYS and np.isnan(series).all():
            continue
        labels = [label for label, _ in every[kind]]
        index = band_of(every[kind], np.abs(series) if kind in UNSIGNED else series)
        measured = int((index >= 0).sum())
        table[part] = {
            label: {"seconds": round(float((index == i).sum() * frame_seconds), 3),
                    "share": round(float((index == i).sum() / measured), 4) if measured else 0.0}
            for i, label in enumerate(labels)
        }
        sustained += _runs(part, index, labels, times, frame_seconds)
    sustained.sort(key=lambda run: run["start_s"])
    return table, sustained


def _runs(part: str, bands: np.ndarray, labels: list[str], times: np.ndarray, frame_seconds: float) -> list[dict]:
    runs = []
    start = 0
    for stop in range(1, len(bands) + 1):
        if stop == len(bands) or bands[stop] != bands[start]:
            if bands[start] >= 0:
                duration = float(times[stop - 1] - times[start]) + frame_seconds
                if duration >= SUSTAINED_S - 1e-9:
                    runs.append({"part": part, "band": labels[bands[start]], "start_s": round(float(times[start]), 3),
                                 "end_s": round(float(times[stop - 1]) + frame_seconds, 3), "duration_s": round(duration, 3)})
            start = stop
    return runs
