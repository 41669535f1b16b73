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
    "How measured angles are judged": ("neutral_tolerance", "side_bend_threshold", "assumed_knee_flexion"),
}

#: Inputs the video always measures when the keypoints are visible.
MEASURED = ("trunk_flexion", "neck_flexion", "upper_arm", "elbow_flexion", "knee_flexion")
#: AssessmentParams fields that some models measure (hand points, 3D); the job's value stands in elsewhere.
SOMETIMES_MEASURED = ("wrist_flexion", "trunk_side_bent", "neck_side_bent", "arm_abducted")


def _view(angles: dict[str, np.ndarray], frame: int) -> dict[str, float]:
    """One frame's angles."""
    return {name: float(series[frame]) for name, series in angles.items()}


def _worst_side(view: dict[str, float]) -> tuple[float, float, float, float] | None:
    """(upper arm, elbow, wrist, abduction) of the side with the higher (riskier) upper-arm angle, if one is measured.

    The wrist and the abduction come from the same side (NaN where not measured: a hand not seen, a 2D model).
    """
    sides = []
    for side in ("left", "right"):
        arm, elbow = view[f"upper_arm_{side}"], view[f"elbow_{side}"]
        if not (math.isnan(arm) or math.isnan(elbow)):
            sides.append((E.upper_arm_base(arm), abs(arm), arm, elbow, view[f"wrist_{side}"], view.get(f"upper_arm_abduction_{side}", math.nan)))
    return max(sides, key=lambda s: s[:2])[2:] if sides else None


def _side_bent(view: dict[str, float], name: str, assumed: bool, threshold: float) -> tuple[bool, bool]:
    """(side-bent?, measured?) for one frame: a measured bend decides, else the assumption stands."""
    value = view.get(name, math.nan)
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


#: A posture to score: (trunk flexion, neck flexion, arm as :func:`_worst_side` gives it, trunk side-bent, neck side-bent).
Posture = tuple[float, float, tuple[float, float, float, float], bool, bool]


def _postures(view: dict[str, float], params: AssessmentParams, unseen: dict[str, tuple]) -> tuple[list[Posture], dict[str, bool]]:
    """Every posture one frame's angles allow (one where trunk, neck and an arm were seen; each unseen part standing
    for every band of :func:`unseen_angles`), and which parts were seen."""
    trunk, neck, arm = view["trunk_flexion"], view["neck_flexion"], _worst_side(view)
    seen = {"trunk": not math.isnan(trunk), "neck": not math.isnan(neck), "arm": arm is not None}
    trunk_side_bent = _side_bent(view, "trunk_side_bend", params.trunk_side_bent, params.side_bend_threshold)[0]
    neck_side_bent = _side_bent(view, "neck_side_bend", params.neck_side_bent, params.side_bend_threshold)[0]
    postures = [(t, n, a, trunk_side_bent, neck_side_bent) for t in ((trunk,) if seen["trunk"] else unseen["trunk"])
                for n in ((neck,) if seen["neck"] else unseen["neck"]) for a in ((arm,) if seen["arm"] else unseen["arm"])]
    return postures, seen


def _bands(posture: Posture, params: AssessmentParams) -> tuple:
    """What the worksheets read of a posture (each angle's band, the flags): postures alike in it score alike."""
    trunk, neck, (upper_arm, elbow, wrist, abduction), trunk_side_bent, neck_side_bent = posture
    tolerance, wrist_flexion = params.neutral_tolerance, params.wrist_flexion if math.isnan(wrist) else wrist
    return (E.rula_trunk_base(trunk, tolerance), E.reba_trunk_base(trunk, tolerance), trunk_side_bent, E.rula_neck_base(neck, tolerance),
            E.reba_neck_base(neck, tolerance), neck_side_bent, E.upper_arm_base(upper_arm), E.lower_arm_base(elbow),
            E.rula_wrist_base(wrist_flexion, tolerance), E.reba_wrist_base(wrist_flexion),
            params.arm_abducted if math.isnan(abduction) else abduction > params.abduction_threshold)


def _hidden_trunk_postures(view: dict[str, float], hidden: dict[str, np.ndarray], frame: int, params: AssessmentParams,
                           unseen: dict[str, tuple]) -> tuple[list[Posture], dict[str, bool]]:
    """The postures of a frame whose trunk is hidden: for each candidate trunk (:func:`pipeline.angles.hidden_trunk_angles`)
    the neck and arm angles it implies, coupled to it; parts not seen at all stand for every band."""
    alike: dict[tuple, dict[str, float]] = {}  # one candidate for each distinct reading of the worksheets
    for candidate in range(hidden["trunk_flexion"].shape[1]):
        posed = {**view, **{name: float(values[frame, candidate]) for name, values in hidden.items()}}
        arm = _worst_side(posed) or (math.nan,) * 4
        key = _bands((posed["trunk_flexion"], posed["neck_flexion"], arm,
                      _side_bent(posed, "trunk_side_bend", params.trunk_side_bent, params.side_bend_threshold)[0],
                      _side_bent(posed, "neck_side_bend", params.neck_side_bent, params.side_bend_threshold)[0]), params)
        alike.setdefault(key, posed)
    postures, seen = {}, {"trunk": False, "neck": False, "arm": False}
    for posed in alike.values():
        found, part_seen = _postures(posed, params, unseen)
        seen.update({part: True for part in ("neck", "arm") if part_seen[part]})
        for posture in found:
            postures.setdefault(_bands(posture, params), posture)
    return list(postures.values()), seen


def score_frames(angles: dict[str, np.ndarray], params: AssessmentParams,
                 hidden: dict[str, np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """RULA and REBA arrays and a record of the inputs.

    A frame with trunk, neck and an arm seen is scored exactly.  A frame with some of them seen is *ranged*: the
    scores of what was seen (a body part's score, an intermediate table score where the unseen part does not move
    it), and its grand scores as a range (:data:`RANGE_FIELDS`), NaN in the exact fields.  A frame with none seen
    is unscored: NaN throughout.  ``hidden``: for frames whose trunk is out of view, the trunk-dependent angles of
    every trunk it could be (:func:`pipeline.angles.hidden_trunk_angles`): their neck and arms are ranged with it.
    """
    frames = len(angles["trunk_flexion"])
    rula = {name: np.full(frames, np.nan) for name in (*RULA_FIELDS, *RANGE_FIELDS["rula"])}
    reba = {name: np.full(frames, np.nan) for name in (*REBA_FIELDS, *RANGE_FIELDS["reba"])}
    unseen = unseen_angles(params)
    knees_assumed, ranged = 0, 0
    measured = dict.fromkeys(SOMETIMES_MEASURED, 0)  # frames where each optional input was measured
    for frame in range(frames):
        view = _view(angles, frame)
        postures, seen = _postures(view, params, unseen)
        if not seen["trunk"] and hidden is not None and not math.isnan(hidden["trunk_flexion"][frame, 0]):
            postures, seen = _hidden_trunk_postures(view, hidden, frame, params, unseen)
        if not any(seen.values()):
            continue
        exact = all(seen.values())
        ranged += not exact
        knee = np.nanmax([view["knee_left"], view["knee_right"], -1.0])
        if knee < 0:
            knee = params.assumed_knee_flexion
            knees_assumed += exact
        if exact:  # counted over the exactly scored frames, as frames_scored is
            _, _, arm, _, _ = postures[0]
            for name, was_measured in (("wrist_flexion", not math.isnan(arm[2])), ("arm_abducted", not math.isnan(arm[3])),
                                       ("trunk_side_bent", not math.isnan(view.get("trunk_side_bend", math.nan))),
                                       ("neck_side_bent", not math.isnan(view.get("neck_side_bend", math.nan)))):
                measured[name] += was_measured
        results = [_scores(t, n, a, knee, trunk_side_bent, neck_side_bent, params) for t, n, a, trunk_side_bent, neck_side_bent in postures]
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


#: The body parts a frame's record names when they are out of view, and the angles that show each.
PART_ANGLES = {"trunk": ("trunk_flexion",), "neck": ("neck_flexion",), "upper arms": ("upper_arm_left", "upper_arm_right"),
               "lower arms": ("elbow_left", "elbow_right"), "wrists": ("wrist_left", "wrist_right"), "legs": ("knee_left", "knee_right")}


#: Between the parts a frame's record names (no comma: frames.csv's readers split on those).
PARTS_JOINED = "; "


def parts_out_of_view(angles: dict[str, np.ndarray], detected: np.ndarray, hidden: dict[str, np.ndarray] | None = None) -> list[str]:
    """Per frame, the body parts not seen ("trunk; legs"): a part whose angles were measured neither against the
    trunk nor, where the trunk is hidden, against any trunk it could be (``hidden``); "" in frames without a person."""
    seen = {}
    for part, names in PART_ANGLES.items():
        shown = np.zeros(len(detected), bool)
        for name in names:
            shown |= ~np.isnan(angles[name])
            if hidden is not None and name in hidden and part != "trunk":  # a candidate trunk is not a trunk seen
                shown |= ~np.isnan(hidden[name]).all(axis=1)
        seen[part] = shown
    return [PARTS_JOINED.join(part for part, shown in seen.items() if not shown[frame]) if detected[frame] else ""
            for frame in range(len(detected))]
