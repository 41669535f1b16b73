"""Per-frame RULA and REBA from measured angles plus what a video cannot measure.

A 2D video shows trunk, neck, arm, elbow and knee angles.  It does not show
wrist posture (unless the model has hand points), twisting, loads, coupling or
muscle use: those come from :class:`AssessmentParams`, given with the job,
with documented defaults.  The result lists which inputs were measured and
which were assumed.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from . import ergonomics as E

RULA_FIELDS = tuple(E.RulaResult.__dataclass_fields__)
REBA_FIELDS = tuple(E.RebaResult.__dataclass_fields__)


class AssessmentParams(BaseModel):
    """What the video cannot show, as the person submitting the job describes the task."""

    model_config = ConfigDict(extra="forbid")

    wrist_flexion: float = Field(0.0, ge=-90, le=90, description="assumed wrist flexion (+) / extension (-), degrees")
    wrist_deviated: bool = Field(False, description="wrist bent to the side (radial/ulnar deviation)")
    wrist_twist_end_of_range: bool = Field(False, description="wrist twisted near the end of its range")
    neck_twisted: bool = False
    neck_side_bent: bool = False
    trunk_twisted: bool = False
    trunk_side_bent: bool = False
    shoulder_raised: bool = False
    arm_abducted: bool = False
    arm_supported: bool = Field(False, description="arm supported or the worker leaning on it")
    across_midline: bool = Field(False, description="lower arm working across the midline or out to the side")
    legs_supported: bool = Field(True, description="legs and feet supported and balanced")
    sitting: bool = False
    unilateral_stance: bool = False
    load_kg: float = Field(0.0, ge=0, le=200, description="load handled, kg")
    shock: bool = Field(False, description="shock or rapid build-up of force")
    rula_force_load: int = Field(0, ge=0, le=3, description="RULA force/load score 0-3")
    muscle_use: bool = Field(False, description="posture mainly static (>1 min) or repeated >4 times/min")
    coupling: int = Field(0, ge=0, le=3, description="REBA coupling: 0 good, 1 fair, 2 poor, 3 unacceptable")
    static_posture: bool = False
    repeated_actions: bool = False
    rapid_changes: bool = False
    neutral_tolerance: float = Field(E.NEUTRAL_TOLERANCE, ge=0, le=20)
    assumed_knee_flexion: float = Field(0.0, ge=0, le=180, description="used when the knees are not visible")


#: Inputs the video measures when the keypoints are visible.
MEASURED = ("trunk_flexion", "neck_flexion", "upper_arm", "elbow_flexion", "knee_flexion")


def _worst_side(angles: dict[str, np.ndarray], frame: int) -> tuple[float, float] | None:
    """(upper arm, elbow) of the side with the higher (riskier) upper-arm angle, if one is measured."""
    sides = []
    for side in ("left", "right"):
        arm, elbow = angles[f"upper_arm_{side}"][frame], angles[f"elbow_{side}"][frame]
        if not (math.isnan(arm) or math.isnan(elbow)):
            sides.append((E.upper_arm_base(arm), abs(arm), arm, elbow))
    return max(sides)[2:] if sides else None


def score_frames(angles: dict[str, np.ndarray], params: AssessmentParams,
                 wrist: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """RULA and REBA arrays (NaN where the posture was not measurable) and a record of the inputs."""
    frames = len(angles["trunk_flexion"])
    rula = {name: np.full(frames, np.nan) for name in RULA_FIELDS}
    reba = {name: np.full(frames, np.nan) for name in REBA_FIELDS}
    knees_assumed = 0
    for frame in range(frames):
        trunk, neck = angles["trunk_flexion"][frame], angles["neck_flexion"][frame]
        arm = _worst_side(angles, frame)
        if math.isnan(trunk) or math.isnan(neck) or arm is None:
            continue
        upper_arm, elbow = arm
        knee = np.nanmax([angles["knee_left"][frame], angles["knee_right"][frame], -1.0])
        if knee < 0:
            knee, knees_assumed = params.assumed_knee_flexion, knees_assumed + 1
        wrist_flexion = params.wrist_flexion if wrist is None or math.isnan(wrist[frame]) else float(wrist[frame])
        r = E.rula_score(
            upper_arm=upper_arm, elbow_flexion=elbow, wrist_flexion=wrist_flexion, neck_flexion=neck, trunk_flexion=trunk,
            shoulder_raised=params.shoulder_raised, arm_abducted=params.arm_abducted, arm_supported=params.arm_supported,
            across_midline=params.across_midline, wrist_deviated=params.wrist_deviated,
            wrist_twist_end_of_range=params.wrist_twist_end_of_range, neck_twisted=params.neck_twisted,
            neck_side_bent=params.neck_side_bent, trunk_twisted=params.trunk_twisted, trunk_side_bent=params.trunk_side_bent,
            legs_supported=params.legs_supported, muscle_use=params.muscle_use, force_load=params.rula_force_load,
            neutral_tolerance=params.neutral_tolerance,
        )
        b = E.reba_score(
            trunk_flexion=trunk, neck_flexion=neck, knee_flexion=knee, upper_arm=upper_arm, elbow_flexion=elbow,
            wrist_flexion=wrist_flexion, trunk_twisted_or_side_bent=params.trunk_twisted or params.trunk_side_bent,
            neck_twisted_or_side_bent=params.neck_twisted or params.neck_side_bent, unilateral_stance=params.unilateral_stance,
            sitting=params.sitting, load_kg=params.load_kg, shock=params.shock, shoulder_raised=params.shoulder_raised,
            arm_abducted=params.arm_abducted, arm_supported=params.arm_supported,
            wrist_deviated_or_twisted=params.wrist_deviated or params.wrist_twist_end_of_range, coupling=params.coupling,
            static_posture=params.static_posture, repeated_actions=params.repeated_actions,
            rapid_changes=params.rapid_changes, neutral_tolerance=params.neutral_tolerance,
        )
        for name, value in r.as_dict().items():
            rula[name][frame] = value
        for name, value in b.as_dict().items():
            reba[name][frame] = value
    inputs = {
        "measured": list(MEASURED) + (["wrist_flexion"] if wrist is not None else []),
        "assumed": {name: value for name, value in params.model_dump().items() if name != "wrist_flexion" or wrist is None},
        "frames_with_assumed_knees": knees_assumed,
    }
    return rula, reba, inputs
