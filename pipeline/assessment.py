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
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import ergonomics as E
from .angles import SIDES

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

    def factors(self) -> E.TaskFactors:
        """What the worksheets ask of the task, with the details that follow from others filled in."""
        return E.TaskFactors(**{name: getattr(self, name) for name in TASK_FACTORS}, muscle_use=self.rula_muscle_use(),
                             force_load=self.rula_force())

    def resolved(self) -> dict:
        """Every detail with the value the scores used (the ones that follow from others filled in)."""
        return {**self.model_dump(), "rula_force_load": self.rula_force(), "muscle_use": self.rula_muscle_use()}


#: The task details the worksheets take as they are (:class:`pipeline.ergonomics.TaskFactors`).
TASK_FACTORS = ("shoulder_raised", "arm_supported", "across_midline", "wrist_deviated", "wrist_twist_end_of_range", "neck_twisted",
                "trunk_twisted", "legs_supported", "sitting", "unilateral_stance", "load_kg", "shock", "coupling", "static_posture",
                "repeated_actions", "rapid_changes", "neutral_tolerance")
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


#: Where a frame's trunk, neck or arm was not seen, its grand scores are given as a range: the lowest and the
#: highest over every band the worksheets have for the unseen angle (the part's own adjustments stay as measured or
#: assumed). These fields hold the ends of the range, equal to the score where the frame was scored exactly, unless
#: the trunk's vertical was uncertain (``trunk_uncertainty`` of :func:`score_frames`) or a knee bent along the line of
#: sight (``knee_uncertainty``): then they span what those allow.
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


def _worst_side(angles: Mapping[str, Any]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The arm the worksheets score: of the two sides, the one with the higher (riskier) upper-arm band, then angle
    (the left on a tie).  Returns its (upper arm, elbow, wrist, abduction), NaN where not measured (a hand not seen,
    a 2D model), and whether an arm was seen at all; element by element over arrays, or for one frame's numbers."""
    arm = {side: np.asarray(angles[f"upper_arm_{side}"], float) for side in SIDES}
    seen = {side: ~np.isnan(arm[side]) & ~np.isnan(np.asarray(angles[f"elbow_{side}"], float)) for side in SIDES}
    left, right = (E.upper_arm_base(arm[side]) for side in SIDES)
    riskier = (right > left) | ((right == left) & (np.abs(arm["right"]) > np.abs(arm["left"])))
    use_right = seen["right"] & (~seen["left"] | riskier)

    def side(name: str) -> np.ndarray:
        return np.where(use_right, angles.get(f"{name}_right", math.nan), angles.get(f"{name}_left", math.nan))

    return (side("upper_arm"), side("elbow"), side("wrist"), side("upper_arm_abduction")), seen["left"] | seen["right"]


def _record(trunk: Any, neck: Any, arm: tuple[Any, Any, Any, Any], trunk_side_bend: Any, neck_side_bend: Any, knee: Any,
            params: AssessmentParams) -> E.Posture:
    """The posture the worksheets score, from measured angles (numbers or arrays): where the wrist, the abduction or a
    side bend was not measured (NaN), the job's assumption stands."""
    upper_arm, elbow, wrist, abduction = (np.asarray(value, float) for value in arm)

    def measured(value: Any, threshold: float, assumed: bool) -> np.ndarray:
        value = np.asarray(value, float)
        return np.where(np.isnan(value), assumed, value > threshold)

    return E.Posture(upper_arm=upper_arm, elbow_flexion=elbow, wrist_flexion=np.where(np.isnan(wrist), params.wrist_flexion, wrist),
                     neck_flexion=np.asarray(neck, float), trunk_flexion=np.asarray(trunk, float), knee_flexion=knee,
                     arm_abducted=measured(abduction, params.abduction_threshold, params.arm_abducted),
                     neck_side_bent=measured(neck_side_bend, params.side_bend_threshold, params.neck_side_bent),
                     trunk_side_bent=measured(trunk_side_bend, params.side_bend_threshold, params.trunk_side_bent))


#: The columns of the postures a frame could have: each an array with one element per posture.
COLUMNS = ("trunk", "neck", "upper_arm", "elbow", "wrist", "abduction", "trunk_side_bend", "neck_side_bend")
#: The columns each part the worksheets need seen fills (the arm: the scored side's, see :func:`_worst_side`).
PART_COLUMNS = {"trunk": ("trunk",), "neck": ("neck",), "arm": ("upper_arm", "elbow", "wrist", "abduction")}


def _possible(view: Mapping[str, Any], unseen: dict[str, tuple]) -> tuple[dict[str, np.ndarray], dict[str, bool]]:
    """Every posture a frame could have, as :data:`COLUMNS`: its angles (for a hidden trunk, arrays over the candidate
    trunks and the neck and arm angles each implies), each part not seen standing for every band of
    :func:`unseen_angles`; and which parts were seen."""
    arm, arm_seen = _worst_side(view)
    values = (view["trunk_flexion"], view["neck_flexion"], *arm, view.get("trunk_side_bend", math.nan), view.get("neck_side_bend", math.nan))
    count = np.broadcast_shapes(*(np.shape(value) for value in values))
    columns = {name: np.broadcast_to(np.asarray(value, float), count).ravel() for name, value in zip(COLUMNS, values, strict=True)}
    # a part is seen for every candidate trunk or for none: whether a joint was seen does not depend on the trunk
    seen = {"trunk": not np.isnan(columns["trunk"]).all(), "neck": not np.isnan(columns["neck"]).all(), "arm": bool(np.any(arm_seen))}
    for part, names in PART_COLUMNS.items():
        if not seen[part]:  # each posture so far, with each band of the part
            standing = np.array(unseen[part], float).reshape(len(unseen[part]), -1)
            columns = {name: np.repeat(column, len(standing)) for name, column in columns.items()}
            columns.update({name: np.tile(standing[:, i], len(columns[name]) // len(standing)) for i, name in enumerate(names)})
    return columns, seen


#: Each method's grand score and its level.
GRAND = {"rula": ("grand_score", "action_level"), "reba": ("reba_score", "risk_level")}


def _score(posture: E.Posture, params: AssessmentParams) -> dict[str, dict[str, np.ndarray]]:
    """Each method's scores of the posture (arrays, one element per posture)."""
    factors = params.factors()
    return {"rula": E.rula_score(posture, factors).as_dict(), "reba": E.reba_score(posture, factors).as_dict()}


def _score_exactly(angles: dict[str, np.ndarray], exact: np.ndarray, knee: np.ndarray, params: AssessmentParams,
                   scores: dict[str, dict[str, np.ndarray]]) -> dict[str, int]:
    """Score the frames with trunk, neck and an arm seen, all at once (a range of one score each); returns in how
    many of them each optional input (:data:`SOMETIMES_MEASURED`) was measured."""
    nothing = np.full(len(exact), np.nan)
    arm = tuple(side[exact] for side in _worst_side(angles)[0])
    bends = (angles.get("trunk_side_bend", nothing)[exact], angles.get("neck_side_bend", nothing)[exact])
    posture = _record(angles["trunk_flexion"][exact], angles["neck_flexion"][exact], arm, *bends, knee[exact], params)
    for method, results in _score(posture, params).items():
        for name, values in results.items():
            scores[method][name][exact] = values
        for end in RANGE_FIELDS[method]:
            scores[method][end][exact] = results[GRAND[method][0]]
    return {"wrist_flexion": int((~np.isnan(arm[2])).sum()), "trunk_side_bent": int((~np.isnan(bends[0])).sum()),
            "neck_side_bent": int((~np.isnan(bends[1])).sum()), "arm_abducted": int((~np.isnan(arm[3])).sum())}


#: A trunk whose vertical is uncertain is scored over flexions this far apart (degrees), finer than any band the
#: worksheets draw on it (the narrowest is the neutral tolerance's).
TRUNK_WIDENING_STEP = 1.0


def widened_trunk(flexion: Any, side_bend: Any, uncertainty: float) -> tuple[np.ndarray, np.ndarray]:
    """Every trunk a frame could have when gravity's vertical may be ``uncertainty`` degrees off (a camera whose tilt
    was not estimated with confidence: :attr:`pipeline.angles.CameraTilt.uncertainty`): the flexion anywhere within
    that of the measured one (the measured value among them) and the side bend at its value or either end (the
    worksheets score side bending only beyond a threshold).  Returns (flexions, side bends), each (..., c) over
    c candidate trunks per measured one; NaN (a side bend not measured) stays NaN, so the job's assumption stands."""
    steps = int(np.ceil(uncertainty / TRUNK_WIDENING_STEP))
    flexion = np.asarray(flexion, float)[..., None, None] + np.linspace(-uncertainty, uncertainty, 2 * steps + 1)[:, None]
    side_bend = np.clip(np.asarray(side_bend, float)[..., None, None] + np.array([-uncertainty, 0.0, uncertainty]), 0.0, None)
    shape = np.broadcast_shapes(flexion.shape, side_bend.shape)
    return (np.broadcast_to(flexion, shape).reshape(*shape[:-2], -1), np.broadcast_to(side_bend, shape).reshape(*shape[:-2], -1))


def raised_knees(knee: Any, uncertainty: Any) -> np.ndarray:
    """Every knee a frame could have when its bend lay along the line of sight, which one camera reads too straight
    (:func:`pipeline.viewpoint.sagittal_along_sight`): the measured flexion first, then one flexion in each of REBA's knee
    bands (:data:`pipeline.ergonomics.KNEE_BENDS`) up to ``uncertainty`` degrees more, and that most; only more bend,
    never less.  Returns (..., k) candidates per measured knee (all the measured one where ``uncertainty`` is 0)."""
    knee = np.asarray(knee, float)[..., None]
    most = knee + np.asarray(uncertainty, float)[..., None]
    past = np.nextafter(np.asarray(E.KNEE_BENDS, float), np.inf)  # just past each border: the worksheets' "more than"
    return np.concatenate([knee, np.clip(past, knee, most), most], axis=-1)


#: Frames widened at once (:func:`_widen_exact`): each holds up to a few hundred candidate trunks, so a long video's
#: postures are scored a slice at a time, not all held in memory together.
WIDENED_FRAMES_AT_ONCE = 1000


def _widen_exact(angles: dict[str, np.ndarray], exact: np.ndarray, knee: np.ndarray, params: AssessmentParams, uncertainty: float,
                 scores: dict[str, dict[str, np.ndarray]], knee_uncertainty: np.ndarray) -> None:
    """In the exactly scored frames, the grand scores' range (:data:`RANGE_FIELDS`) over every trunk an uncertain
    vertical allows (:func:`widened_trunk`) and every knee a bend along the line of sight allows (:func:`raised_knees`,
    per frame); the exact scores stay those of the trunk and the knee as measured."""
    widened = exact & (uncertainty > 0 or knee_uncertainty > 0)
    if not widened.any():
        return
    nothing = np.full(len(exact), np.nan)
    arm = _worst_side(angles)[0]
    exact_frames = np.flatnonzero(widened)
    knees_vary = bool((knee_uncertainty[exact_frames] > 0).any())
    at_once = WIDENED_FRAMES_AT_ONCE // (len(E.KNEE_BENDS) + 2 if knees_vary else 1)  # as many postures at once as for the trunk alone
    for start in range(0, len(exact_frames), at_once):
        frames = exact_frames[start:start + at_once]
        flexion, side_bend = widened_trunk(angles["trunk_flexion"][frames], angles.get("trunk_side_bend", nothing)[frames], uncertainty)
        knees = raised_knees(knee[frames], knee_uncertainty[frames]) if knees_vary else knee[frames, None]
        trunks = flexion.shape[1]  # each candidate trunk with each candidate knee
        flexion, side_bend = np.repeat(flexion, knees.shape[1], axis=1), np.repeat(side_bend, knees.shape[1], axis=1)
        count = flexion.shape[1]
        each = {name: np.repeat(np.asarray(values, float)[frames], count)  # a frame's value for each of its candidate postures
                for name, values in (("neck", angles["neck_flexion"]), ("neck_side_bend", angles.get("neck_side_bend", nothing)),
                                     *zip(PART_COLUMNS["arm"], arm, strict=True))}
        posture = _record(flexion.ravel(), each["neck"], tuple(each[name] for name in PART_COLUMNS["arm"]), side_bend.ravel(),
                          each["neck_side_bend"], np.tile(knees, (1, trunks)).ravel(), params)
        for method, results in _score(posture, params).items():
            grand = results[GRAND[method][0]].reshape(-1, count)
            low, high = RANGE_FIELDS[method]
            scores[method][low][frames], scores[method][high][frames] = grand.min(axis=1), grand.max(axis=1)


def _score_range(frame: int, columns: dict[str, np.ndarray], knees: np.ndarray, params: AssessmentParams,
                 scores: dict[str, dict[str, np.ndarray]]) -> None:
    """Score every posture a frame could have (:func:`_possible`) with each of its candidate ``knees`` (the measured
    one first, :func:`raised_knees`): its grand scores' range, and each score no unseen part moves with the knee as
    measured."""
    arm = tuple(columns[name] for name in PART_COLUMNS["arm"])
    for knee in dict.fromkeys(float(value) for value in knees):
        posture = _record(columns["trunk"], columns["neck"], arm, columns["trunk_side_bend"], columns["neck_side_bend"], knee, params)
        for method, results in _score(posture, params).items():
            low, high = RANGE_FIELDS[method]
            grand = results[GRAND[method][0]]
            if knee != knees[0]:  # a knee the depth may have hidden: only the range reaches it
                scores[method][low][frame] = min(scores[method][low][frame], grand.min())
                scores[method][high][frame] = max(scores[method][high][frame], grand.max())
                continue
            for name, values in results.items():
                if name not in GRAND[method] and (values == values[0]).all():  # what the unseen parts cannot move
                    scores[method][name][frame] = values[0]
            scores[method][low][frame], scores[method][high][frame] = grand.min(), grand.max()


def _score_ranges(angles: dict[str, np.ndarray], candidates: np.ndarray, knee: np.ndarray, params: AssessmentParams,
                  hidden: dict[str, np.ndarray] | None, scores: dict[str, dict[str, np.ndarray]], trunk_uncertainty: float,
                  knee_uncertainty: np.ndarray) -> int:
    """Range each of the ``candidates`` frames with a part seen, one frame at a time (a trunk seen over every trunk its
    uncertain vertical allows, a knee over every knee its bend along the line of sight allows); returns how many were."""
    unseen, ranged = unseen_angles(params), 0
    hidden_trunk = np.zeros(len(candidates), bool) if hidden is None else ~np.isnan(hidden["trunk_flexion"][:, 0])
    for frame in np.flatnonzero(candidates & (~np.isnan(angles["trunk_flexion"]) | ~np.isnan(angles["neck_flexion"])
                                              | _worst_side(angles)[1] | hidden_trunk)):  # never a frame without the worker
        view: dict[str, Any] = {name: float(series[frame]) for name, series in angles.items()}
        shown = ("trunk", "neck", "arm")
        if math.isnan(view["trunk_flexion"]) and hidden_trunk[frame]:
            view.update({name: values[frame] for name, values in hidden.items()})  # every trunk it could have...
            shown = ("neck", "arm")  # ...none of them a trunk seen
        elif not math.isnan(view["trunk_flexion"]) and trunk_uncertainty > 0:
            view["trunk_flexion"], view["trunk_side_bend"] = widened_trunk(view["trunk_flexion"], view.get("trunk_side_bend", math.nan),
                                                                           trunk_uncertainty)
        columns, seen = _possible(view, unseen)
        if any(seen[part] for part in shown):
            _score_range(frame, columns, raised_knees(knee[frame], knee_uncertainty[frame]), params, scores)
            ranged += 1
    return ranged


def score_frames(angles: dict[str, np.ndarray], params: AssessmentParams,
                 hidden: dict[str, np.ndarray] | None = None, trunk_uncertainty: float = 0.0,
                 knee_uncertainty: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """RULA and REBA arrays and a record of the inputs.

    A frame with trunk, neck and an arm seen is scored exactly (all such frames at once).  A frame with some of them
    seen is *ranged*: the scores of what was seen (a body part's score, an intermediate table score where the unseen
    part does not move it), and its grand scores as a range (:data:`RANGE_FIELDS`), NaN in the exact fields.  A frame
    with none seen is unscored: NaN throughout.  ``hidden``: for frames whose trunk is out of view, the
    trunk-dependent angles of every trunk it could be (:func:`pipeline.angles.hidden_trunk_angles`): their neck and
    arms are ranged with it.  ``trunk_uncertainty``: degrees gravity's vertical may be off (a camera tilt not known with
    confidence, :attr:`pipeline.angles.CameraTilt.uncertainty`): the grand scores' range then spans every trunk within
    it (:func:`widened_trunk`), in the exactly scored frames too, whose exact scores stay the measured trunk's.
    ``knee_uncertainty``: per frame, degrees a measured knee may be bent beyond what was read (its bend along the line
    of sight, :attr:`pipeline.viewpoint.Viewpoint.knee_uncertainty`): the grand scores' range then reaches every knee
    up to that (:func:`raised_knees`; only REBA's legs score counts the knee), the exact scores stay the measured knee's.
    """
    frames = len(angles["trunk_flexion"])
    scores = {"rula": {name: np.full(frames, np.nan) for name in (*RULA_FIELDS, *RANGE_FIELDS["rula"])},
              "reba": {name: np.full(frames, np.nan) for name in (*REBA_FIELDS, *RANGE_FIELDS["reba"])}}
    measured_knee = np.fmax(np.fmax(angles["knee_left"], angles["knee_right"]), -1.0)
    knee = np.where(measured_knee < 0, params.assumed_knee_flexion, measured_knee)
    # only a knee seen is read too straight by the depth; the job's assumed knee is what the job says
    knee_doubt = np.zeros(frames) if knee_uncertainty is None else np.asarray(knee_uncertainty, float)
    knee_doubt = np.where(measured_knee < 0, 0.0, knee_doubt)
    exact = ~np.isnan(angles["trunk_flexion"]) & ~np.isnan(angles["neck_flexion"]) & _worst_side(angles)[1]
    measured = _score_exactly(angles, exact, knee, params, scores)  # frames where each optional input was measured
    _widen_exact(angles, exact, knee, params, trunk_uncertainty, scores, knee_doubt)
    inputs = {
        "measured": list(MEASURED) + [name for name, count in measured.items() if count],
        "assumed": params.resolved(),
        "frames_with_assumed_knees": int((exact & (measured_knee < 0)).sum()),
        # the assumed value stood in for the optional measurements in the remaining scored frames
        "frames_measured": measured,
        "frames_scored": int(exact.sum()),
        # frames with some of trunk, neck and arm seen: scores of what was seen, grand scores as a range
        "frames_ranged": _score_ranges(angles, ~exact, knee, params, hidden, scores, trunk_uncertainty, knee_doubt),
    }
    return scores["rula"], scores["reba"], inputs


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
