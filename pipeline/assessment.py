"""Per-frame RULA and REBA from measured angles plus what a video cannot measure.

A video shows trunk, neck, arm, elbow and knee angles; with hand points
(BlazePose) the wrist bend, and with 3D points the side bending of trunk and
neck.  It does not show twisting of the wrist, loads, coupling or muscle use:
those come from :class:`AssessmentParams`, given with the job, with
documented defaults.  A measured value wins over the assumed one in each frame
where it was measured; the result lists which inputs were measured (and in
how many frames the assumption stood in) and which were assumed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import ergonomics as E

RULA_FIELDS = tuple(E.RulaResult.__dataclass_fields__)
#: The most a given camera pitch or roll may be (degrees): beyond it the camera looks at the floor or the ceiling.
CAMERA_TILT_LIMIT = 80.0
REBA_FIELDS = tuple(E.RebaResult.__dataclass_fields__)


class AssessmentParams(BaseModel):
    """What the video cannot show, as the person submitting the job describes the task."""

    model_config = ConfigDict(extra="forbid")

    wrist_flexion: float = Field(0.0, ge=-90, le=90, description="assumed wrist flexion (+) / extension (-), degrees")
    wrist_deviated: bool = Field(False, description="wrist bent to the side (radial/ulnar deviation)")
    wrist_twist_end_of_range: bool = Field(False, description="wrist twisted near the end of its range")
    neck_twisted: bool = Field(False, description="neck twisted")
    neck_side_bent: bool = Field(False, description="neck bent to the side (where the video cannot show it)")
    trunk_twisted: bool = Field(False, description="trunk twisted")
    trunk_side_bent: bool = Field(False, description="trunk bent to the side (where the video cannot show it)")
    shoulder_raised: bool = Field(False, description="shoulder raised")
    arm_abducted: bool = Field(False, description="upper arm abducted (out to the side)")
    arm_supported: bool = Field(False, description="arm supported or the worker leaning on it")
    across_midline: bool = Field(False, description="lower arm working across the midline or out to the side")
    legs_supported: bool = Field(True, description="legs and feet supported and balanced")
    sitting: bool = Field(False, description="the worker sits (REBA legs)")
    unilateral_stance: bool = Field(False, description="weight on one leg, or an unstable posture")
    load_kg: float = Field(0.0, ge=0, le=200, description="load handled, kg")
    shock: bool = Field(False, description="shock or rapid build-up of force")
    # RULA's force and muscle use ask what the load and the activity below ask already: unset, they follow from those
    rula_force_load: int | None = Field(None, ge=0, le=3, description="RULA force/load score 0-3")
    muscle_use: bool | None = Field(None, description="RULA muscle use: posture mainly static (>1 min) or repeated >4 times/min")
    coupling: int = Field(0, ge=0, le=3, description="REBA coupling: 0 good, 1 fair, 2 poor, 3 unacceptable")
    static_posture: bool = Field(False, description="one or more body parts held static for more than 1 minute")
    repeated_actions: bool = Field(False, description="small-range actions repeated more than 4 times a minute")
    rapid_changes: bool = Field(False, description="rapid large changes in posture, or an unstable base")
    neutral_tolerance: float = Field(E.NEUTRAL_TOLERANCE, ge=0, le=20, description="degrees around neutral still counted as neutral")
    side_bend_threshold: float = Field(20.0, ge=0, le=60, description="a measured side bend beyond this many degrees counts as side-bent")
    abduction_threshold: float = Field(20.0, ge=0, le=90, description="a measured upper-arm abduction beyond this many degrees counts as abducted")
    assumed_knee_flexion: float = Field(0.0, ge=0, le=180, description="used when the knees are not visible")
    # the camera's tilt, where the person filming knows it (a level on the phone, a tripod's scale): measured against
    # it, trunk and neck lean from gravity's vertical, not the camera's up.  Unset, the analysis estimates it
    camera_pitch: float | None = Field(None, ge=-CAMERA_TILT_LIMIT, le=CAMERA_TILT_LIMIT,
                                       description="camera tilted down (+) or up (-) from level, degrees (with the roll; "
                                                   "both empty: estimated from the video)")
    camera_roll: float | None = Field(None, ge=-CAMERA_TILT_LIMIT, le=CAMERA_TILT_LIMIT,
                                      description="camera rolled, degrees: + turned anticlockwise as you look through it "
                                                  "(gravity leaning to the image's left); with the pitch")

    @model_validator(mode="after")
    def _camera_tilt_whole(self) -> AssessmentParams:
        """A pitch without a roll (or the reverse) would level the trunk half-way: both or neither."""
        if (self.camera_pitch is None) != (self.camera_roll is None):
            raise ValueError("camera_pitch and camera_roll go together: give both, or neither to have them estimated")
        return self

    def rula_muscle_use(self) -> bool:
        """RULA's muscle use (mainly static, or repeated more than 4 times a minute): REBA's activity asks the same."""
        return self.muscle_use if self.muscle_use is not None else self.static_posture or self.repeated_actions

    def rula_force(self) -> int:
        """RULA's force/load score; unset, from the load, how it is handled and shock, by the worksheet's rule:
        0 under 2 kg; 1 for 2-10 kg intermittent, 2 static or repeated; 2 over 10 kg intermittent, 3 static or
        repeated; 3 with shock or rapid build-up of force."""
        if self.rula_force_load is not None:
            return self.rula_force_load
        if self.shock:
            return 3
        if self.load_kg < 2:
            return 0
        return (1 if self.load_kg <= 10 else 2) + self.rula_muscle_use()

    def resolved(self) -> dict:
        """Every detail with the value the scores used (the ones that follow from others filled in)."""
        return {**self.model_dump(), "rula_force_load": self.rula_force(), "muscle_use": self.rula_muscle_use()}


#: The task details in the worksheets' groups, as a form asks them: each field in exactly one group, but for the
#: fields that follow from others (:data:`FOLLOWING`), which a form need not ask.
FOLLOWING = ("rula_force_load", "muscle_use")
TASK_GROUPS = {
    "Posture the video cannot show": ("wrist_flexion", "wrist_deviated", "wrist_twist_end_of_range", "neck_twisted", "neck_side_bent",
                                      "trunk_twisted", "trunk_side_bent", "shoulder_raised", "arm_abducted", "arm_supported",
                                      "across_midline", "legs_supported", "sitting", "unilateral_stance"),
    "Load and force": ("load_kg", "shock"),
    "Activity": ("static_posture", "repeated_actions", "rapid_changes"),
    "Coupling": ("coupling",),
    "How measured angles are judged": ("neutral_tolerance", "side_bend_threshold", "abduction_threshold", "assumed_knee_flexion"),
    "How the video was filmed": ("camera_pitch", "camera_roll"),
}

#: Inputs the video always measures when the keypoints are visible.
MEASURED = ("trunk_flexion", "neck_flexion", "upper_arm", "elbow_flexion", "knee_flexion")
#: AssessmentParams fields that some models measure (hand points, 3D); the job's value stands in elsewhere.
SOMETIMES_MEASURED = ("wrist_flexion", "trunk_side_bent", "neck_side_bent", "arm_abducted")


def _worst_side(angles: dict[str, np.ndarray], frame: int) -> tuple[float, float, float, float] | None:
    """(upper arm, elbow, wrist, abduction) of the side with the higher (riskier) upper-arm angle, if one is measured.

    The wrist and the abduction come from the same side (NaN where not measured: a hand not seen, a 2D model).
    """
    sides = []
    for side in ("left", "right"):
        arm, elbow = angles[f"upper_arm_{side}"][frame], angles[f"elbow_{side}"][frame]
        if not (math.isnan(arm) or math.isnan(elbow)):
            wrist = angles[f"wrist_{side}"][frame]
            abduction = angles[f"upper_arm_abduction_{side}"][frame] if f"upper_arm_abduction_{side}" in angles else math.nan
            sides.append((E.upper_arm_base(arm), abs(arm), arm, elbow, wrist, abduction))
    return max(sides, key=lambda s: s[:2])[2:] if sides else None


def _side_bent(angles: dict[str, np.ndarray], name: str, frame: int, assumed: bool, threshold: float) -> tuple[bool, bool]:
    """(side-bent?, measured?) for one frame: a measured bend decides, else the assumption stands."""
    value = angles[name][frame]
    return (assumed, False) if math.isnan(value) else (value > threshold, True)


#: Where a frame's trunk, neck or arm was not seen, its grand scores are given as a range: the lowest and the
#: highest over every band the worksheets have for the unseen angle (the part's own adjustments stay as measured or
#: assumed). These fields hold the ends of the range, equal to the score where the frame was scored exactly.
RANGE_FIELDS = {"rula": ("grand_score_min", "grand_score_max"), "reba": ("reba_score_min", "reba_score_max")}


def _representatives(grid: np.ndarray, *scores: Callable[[float], int]) -> tuple[float, ...]:
    """One angle of ``grid`` for each distinct combination of the band ``scores`` give it."""
    chosen: dict[tuple[int, ...], float] = {}
    for angle in grid:
        chosen.setdefault(tuple(score(float(angle)) for score in scores), float(angle))
    return tuple(chosen.values())


def unseen_angles(params: AssessmentParams) -> dict[str, tuple]:
    """Angles standing for every band of each part, for a part that was not seen (the bands follow the tolerance)."""
    tolerance = params.neutral_tolerance
    trunk = _representatives(np.arange(-90, 180.5, 0.5), lambda a: E.rula_trunk_base(a, tolerance),
                             lambda a: E.reba_trunk_base(a, tolerance))
    neck = _representatives(np.arange(-90, 90.5, 0.5), lambda a: E.rula_neck_base(a, tolerance), lambda a: E.reba_neck_base(a, tolerance))
    upper = _representatives(np.arange(-180, 180.5, 0.5), E.upper_arm_base)
    elbow = _representatives(np.arange(0, 180.5, 0.5), E.lower_arm_base)
    return {"trunk": trunk, "neck": neck, "arm": tuple((u, e, math.nan, math.nan) for u in upper for e in elbow)}


def _scores(trunk: float, neck: float, arm: tuple[float, float, float, float], knee: float, trunk_side_bent: bool,
            neck_side_bent: bool, params: AssessmentParams) -> tuple[E.RulaResult, E.RebaResult]:
    upper_arm, elbow, wrist, abduction = arm
    wrist_flexion = params.wrist_flexion if math.isnan(wrist) else float(wrist)
    abducted = params.arm_abducted if math.isnan(abduction) else bool(abduction > params.abduction_threshold)
    r = E.rula_score(
        upper_arm=upper_arm, elbow_flexion=elbow, wrist_flexion=wrist_flexion, neck_flexion=neck, trunk_flexion=trunk,
        shoulder_raised=params.shoulder_raised, arm_abducted=abducted, arm_supported=params.arm_supported,
        across_midline=params.across_midline, wrist_deviated=params.wrist_deviated,
        wrist_twist_end_of_range=params.wrist_twist_end_of_range, neck_twisted=params.neck_twisted,
        neck_side_bent=neck_side_bent, trunk_twisted=params.trunk_twisted, trunk_side_bent=trunk_side_bent,
        legs_supported=params.legs_supported, muscle_use=params.rula_muscle_use(), force_load=params.rula_force(),
        neutral_tolerance=params.neutral_tolerance,
    )
    b = E.reba_score(
        trunk_flexion=trunk, neck_flexion=neck, knee_flexion=knee, upper_arm=upper_arm, elbow_flexion=elbow,
        wrist_flexion=wrist_flexion, trunk_twisted_or_side_bent=params.trunk_twisted or trunk_side_bent,
        neck_twisted_or_side_bent=params.neck_twisted or neck_side_bent, unilateral_stance=params.unilateral_stance,
        sitting=params.sitting, load_kg=params.load_kg, shock=params.shock, shoulder_raised=params.shoulder_raised,
        arm_abducted=abducted, arm_supported=params.arm_supported,
        wrist_deviated_or_twisted=params.wrist_deviated or params.wrist_twist_end_of_range, coupling=params.coupling,
        static_posture=params.static_posture, repeated_actions=params.repeated_actions,
        rapid_changes=params.rapid_changes, neutral_tolerance=params.neutral_tolerance,
    )
    return r, b


def score_frames(angles: dict[str, np.ndarray], params: AssessmentParams) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """RULA and REBA arrays and a record of the inputs.

    A frame with trunk, neck and an arm seen is scored exactly.  A frame with some of them seen is *ranged*: the
    scores of what was seen (a body part's score, an intermediate table score where the unseen part does not move
    it), and its grand scores as a range (:data:`RANGE_FIELDS`), NaN in the exact fields.  A frame with none seen
    is unscored: NaN throughout.
    """
    frames = len(angles["trunk_flexion"])
    rula = {name: np.full(frames, np.nan) for name in (*RULA_FIELDS, *RANGE_FIELDS["rula"])}
    reba = {name: np.full(frames, np.nan) for name in (*REBA_FIELDS, *RANGE_FIELDS["reba"])}
    unseen = unseen_angles(params)
    knees_assumed, ranged = 0, 0
    measured = dict.fromkeys(SOMETIMES_MEASURED, 0)  # frames where each optional input was measured
    for frame in range(frames):
        trunk, neck = angles["trunk_flexion"][frame], angles["neck_flexion"][frame]
        arm = _worst_side(angles, frame)
        seen = {"trunk": not math.isnan(trunk), "neck": not math.isnan(neck), "arm": arm is not None}
        if not any(seen.values()):
            continue
        exact = all(seen.values())
        ranged += not exact
        knee = np.nanmax([angles["knee_left"][frame], angles["knee_right"][frame], -1.0])
        if knee < 0:
            knee = params.assumed_knee_flexion
            knees_assumed += exact
        trunk_side_bent, trunk_bend_measured = _side_bent(angles, "trunk_side_bend", frame, params.trunk_side_bent, params.side_bend_threshold)
        neck_side_bent, neck_bend_measured = _side_bent(angles, "neck_side_bend", frame, params.neck_side_bent, params.side_bend_threshold)
        wrist_seen = arm is not None and not math.isnan(arm[2])
        abduction_seen = arm is not None and not math.isnan(arm[3])
        for name, was_measured in (("wrist_flexion", wrist_seen), ("trunk_side_bent", trunk_bend_measured),
                                   ("neck_side_bent", neck_bend_measured), ("arm_abducted", abduction_seen)):
            measured[name] += was_measured and exact  # counted over the exactly scored frames, as frames_scored is
        results = [_scores(t, n, a, knee, trunk_side_bent, neck_side_bent, params)
                   for t in ((trunk,) if seen["trunk"] else unseen["trunk"])
                   for n in ((neck,) if seen["neck"] else unseen["neck"])
                   for a in ((arm,) if seen["arm"] else unseen["arm"])]
        for method, scores, grand, index in ((rula, [r for r, _ in results], "grand_score", 0), (reba, [b for _, b in results], "reba_score", 1)):
            rows = [score.as_dict() for score in scores]
            for name in rows[0]:
                values = {row[name] for row in rows}
                if len(values) == 1 and (exact or name != grand):  # what the unseen parts cannot move
                    method[name][frame] = values.pop()
            low, high = RANGE_FIELDS["rula" if index == 0 else "reba"]
            method[low][frame] = min(row[grand] for row in rows)
            method[high][frame] = max(row[grand] for row in rows)
            if not exact:  # the level of an unknown score is unknown too
                method["action_level" if index == 0 else "risk_level"][frame] = np.nan
    scored = int(np.sum(~np.isnan(rula["grand_score"])))
    inputs = {
        "measured": list(MEASURED) + [name for name, count in measured.items() if count],
        "assumed": params.resolved(),
        "frames_with_assumed_knees": knees_assumed,
        # the assumed value stood in for the optional measurements in the remaining scored frames
        "frames_measured": {name: count for name, count in measured.items()},
        "frames_scored": scored,
        # frames with some of trunk, neck and arm seen: scores of what was seen, grand scores as a range
        "frames_ranged": ranged,
    }
    return rula, reba, inputs
