"""The demo: a generated video of a person changing posture, analysed offline, and the check that it shows what it should.

The demo passes when a person is found in most frames and the risk changes
over the clip (the person leans over and straightens up again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.pose.assets import fetch

from .settings import AnalysisSettings

if TYPE_CHECKING:
    from pipeline.result_model import AnalysisResult

#: Seconds per step of the printed risk timeline.
TIMELINE_STEP_S = 2.0
#: Share of frames in which the demo must find the person.
MIN_DETECTION = 0.8
#: The model files the demo analyses with (and blurs faces with).
DEMO_MODELS = ["pose_detection", "pose_landmark_full", "face_detection_short_range"]


def fetch_demo_models(settings: AnalysisSettings | None = None) -> dict[str, Path]:
    """BlazePose full and BlazeFace, fetched (or found cached) and verified."""
    return fetch((settings or AnalysisSettings()).models_folder(), DEMO_MODELS)


def risk_timeline(times: np.ndarray, exact: np.ndarray, highest: np.ndarray,
                  step: float = TIMELINE_STEP_S) -> list[tuple[float, float | None, float | None]]:
    """(start, highest exact score, highest score a frame could have) per ``step`` seconds: ``highest`` is the top of
    each frame's range (its score where it was scored exactly); None where no frame was scored or ranged."""
    timeline = []
    for start in np.arange(0.0, float(times.max()) + 1e-9, step):
        inside = (times >= start) & (times < start + step)
        tops = [float(np.nanmax(values[inside])) if np.any(~np.isnan(values[inside])) else None for values in (exact, highest)]
        timeline.append((float(start), *tops))
    return timeline


def timeline_words(timeline: list[tuple[float, float | None, float | None]]) -> str:
    """"0s:3, 2s:3-6, 4s:-": the highest score of each step, with how high its ranged frames could reach ("≤6" where
    only ranges stand)."""

    def step(low: float | None, high: float | None) -> str:
        if high is None:
            return "-"
        if low is None:
            return f"≤{high:.0f}"
        return f"{low:.0f}" if high <= low else f"{low:.0f}-{high:.0f}"

    return ", ".join(f"{start:.0f}s:{step(low, high)}" for start, low, high in timeline)


@dataclass(frozen=True)
class DemoCheck:
    """What the demo's result shows: detection rate and the range of RULA scores."""

    detection: float
    rula_min: int | None
    rula_max: int | None

    @classmethod
    def of(cls, result: AnalysisResult) -> DemoCheck:
        rula = result.rula.grand_score[~np.isnan(result.rula.grand_score)]
        return cls(float(np.mean(result.detected)), int(rula.min()) if len(rula) else None, int(rula.max()) if len(rula) else None)

    @property
    def changes(self) -> bool:
        return self.rula_min is not None and self.rula_max > self.rula_min

    @property
    def passed(self) -> bool:
        return self.detection >= MIN_DETECTION and self.changes

    def __str__(self) -> str:
        span = f" ({self.rula_min} to {self.rula_max})" if self.rula_min is not None else ""
        return (f"person detected in {self.detection:.0%} of frames; "
                f"RULA {'changes' if self.changes else 'does not change'} over the clip{span}")
