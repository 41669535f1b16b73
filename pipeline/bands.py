"""Time-in-band analysis, as the system this project replaces reported it.

Each body part's angle is sorted into bands; the report gives the time spent
in each band and the sustained postures: runs of one band lasting at least
``SUSTAINED_S`` seconds (a frame without a measurement ends a run).
"""

from __future__ import annotations

import numpy as np

SUSTAINED_S = 4.0

# (label, upper bound inclusive) in increasing order; the last band is open-ended.
# Trunk and neck: a value equal to the bound belongs to the band below it.
BANDS: dict[str, list[tuple[str, float]]] = {
    "trunk": [("backward", -15.0), ("normal", 40.0), ("moderate forward", 60.0), ("strong forward", np.inf)],
    "neck": [("backward", -15.0), ("normal", 25.0), ("moderate", 60.0), ("extreme", np.inf)],
    # Upper arm: < 0 behind the body, [0, 40] normal (0 itself is normal).
    "upper_arm": [("behind body", -1e-9), ("normal", 40.0), ("moderate elevation", 60.0), ("strong elevation", np.inf)],
}
PARTS = {"trunk": "trunk_flexion", "neck": "neck_flexion", "upper_arm_left": "upper_arm_left", "upper_arm_right": "upper_arm_right"}


def band_of(part: str, angles: np.ndarray) -> np.ndarray:
    """Band index per frame (-1 where the angle is NaN)."""
    bands = BANDS["upper_arm" if part.startswith("upper_arm") else part]
    bounds = np.array([bound for _, bound in bands[:-1]])
    index = np.searchsorted(bounds, angles, side="left")
    return np.where(np.isnan(angles), -1, index)


def time_in_bands(angles: dict[str, np.ndarray], times: np.ndarray, frame_seconds: float) -> tuple[dict, list[dict]]:
    """(seconds and share per band for each part, sustained postures)."""
    table, sustained = {}, []
    for part, angle_name in PARTS.items():
        labels = [label for label, _ in BANDS["upper_arm" if part.startswith("upper_arm") else part]]
        bands = band_of(part, angles[angle_name])
        measured = int((bands >= 0).sum())
        table[part] = {
            label: {"seconds": round(float((bands == i).sum() * frame_seconds), 3),
                    "share": round(float((bands == i).sum() / measured), 4) if measured else 0.0}
            for i, label in enumerate(labels)
        }
        sustained += _runs(part, bands, labels, times, frame_seconds)
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
