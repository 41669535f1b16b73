"""RULA and REBA, exactly per the published worksheets.

Sources: McAtamney & Corlett (1993), Applied Ergonomics 24(2):91-99 (RULA);
Hignett & McAtamney (2000), Applied Ergonomics 31(2):201-205 (REBA).  The
tables and this project's conventions are in ``shared/reference/ergonomics.md``:

* angles in degrees, flexion positive, extension negative;
* a value exactly on a published boundary belongs to the lower-score band
  (upper arm 20.0 scores 1, 45.0 scores 2, 90.0 scores 3);
* "neutral" bands accept ``|angle| <= neutral_tolerance`` (default 5 degrees);
* every body-part score is clamped to the range its table has.

Both scoring functions are pure and take two records: the :class:`Posture` the video measured and the
:class:`TaskFactors` it cannot show; every intermediate score comes out.  Each field of a posture may be a number
or an array (one posture per element: the frames of a video, or every posture a frame could have), and the scores
come out alike: numbers for numbers, arrays for arrays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

NEUTRAL_TOLERANCE = 5.0
#: Elbow flexion the lower arm scores best in (both worksheets), degrees, both ends included.
LOWER_ARM_NEUTRAL = (60.0, 100.0)
#: The upper arm's neutral band, either side of hanging (degrees): flexion or extension within it scores 1.
UPPER_ARM_NEUTRAL = 20.0
#: Wrist flexion/extension beyond this is RULA's worst band and REBA's bent wrist, degrees.
WRIST_BENT = 15.0
#: Knee flexion beyond each of these adds 1, then 2, to REBA's legs, degrees.
KNEE_BENDS = (30.0, 60.0)

# -- RULA tables ---------------------------------------------------------------------
# Table A[upper arm 1..6][lower arm 1..3][wrist 1..4][wrist twist 1..2]
_RULA_A_ROWS = """
1 2 2 2 2 3 3 3
2 2 2 2 3 3 3 3
2 3 3 3 3 3 4 4
2 3 3 3 3 4 4 4
3 3 3 3 3 4 4 4
3 4 4 4 4 4 5 5
3 3 4 4 4 4 5 5
3 4 4 4 4 4 5 5
4 4 4 4 4 5 5 5
4 4 4 4 4 5 5 5
4 4 4 4 4 5 5 5
4 4 4 5 5 5 6 6
5 5 5 5 5 6 6 7
5 6 6 6 6 7 7 7
6 6 6 7 7 7 7 8
7 7 7 7 7 8 8 9
8 8 8 8 8 9 9 9
9 9 9 9 9 9 9 9
"""
RULA_TABLE_A = [[list(map(int, _RULA_A_ROWS.split("\n")[1 + ua * 3 + la].split())) for la in range(3)] for ua in range(6)]
# Table B[neck 1..6] -> flat row of trunk 1..6, each split by legs 1|2
RULA_TABLE_B = [
    [1, 3, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7],
    [2, 3, 2, 3, 4, 5, 5, 5, 6, 7, 7, 7],
    [3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 7],
    [5, 5, 5, 6, 6, 7, 7, 7, 7, 7, 8, 8],
    [7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8],
    [8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9],
]
# Table C[score C 1..8+][score D 1..7+]
RULA_TABLE_C = [
    [1, 2, 3, 3, 4, 5, 5],
    [2, 2, 3, 4, 4, 5, 5],
    [3, 3, 3, 4, 4, 5, 6],
    [3, 3, 3, 4, 5, 6, 6],
    [4, 4, 4, 5, 6, 7, 7],
    [4, 4, 5, 6, 6, 7, 7],
    [5, 5, 6, 6, 7, 7, 7],
    [5, 5, 6, 7, 7, 7, 7],
]

# -- REBA tables ---------------------------------------------------------------------
# Table A[trunk 1..5] -> flat row of neck 1..3, each split by legs 1..4
REBA_TABLE_A = [
    [1, 2, 3, 4, 1, 2, 3, 4, 3, 3, 5, 6],
    [2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7],
    [2, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8],
    [3, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9],
    [4, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 9],
]
# Table B[upper arm 1..6] -> flat row of lower arm 1|2, each split by wrist 1..3
REBA_TABLE_B = [
    [1, 2, 2, 1, 2, 3],
    [1, 2, 3, 2, 3, 4],
    [3, 4, 5, 4, 5, 5],
    [4, 5, 5, 5, 6, 7],
    [6, 7, 8, 7, 8, 8],
    [7, 8, 8, 8, 9, 9],
]
# Table C[score A 1..12][score B 1..12]
REBA_TABLE_C = [
    [1, 1, 1, 2, 3, 3, 4, 5, 6, 7, 7, 7],
    [1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 7, 8],
    [2, 3, 3, 3, 4, 5, 6, 7, 7, 8, 8, 8],
    [3, 4, 4, 4, 5, 6, 7, 8, 8, 9, 9, 9],
    [4, 4, 4, 5, 6, 7, 8, 8, 9, 9, 9, 9],
    [6, 6, 6, 7, 8, 8, 9, 9, 10, 10, 10, 10],
    [7, 7, 7, 8, 9, 9, 9, 10, 10, 11, 11, 11],
    [8, 8, 8, 9, 10, 10, 10, 10, 10, 11, 11, 11],
    [9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 12],
    [10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12, 12],
    [11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12],
    [12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12],
]


_RULA_A, _RULA_B, _RULA_C = np.array(RULA_TABLE_A), np.array(RULA_TABLE_B), np.array(RULA_TABLE_C)
_REBA_A, _REBA_B, _REBA_C = np.array(REBA_TABLE_A), np.array(REBA_TABLE_B), np.array(REBA_TABLE_C)

#: A number, or an array of them (one per posture).
Values = float | np.ndarray
Flags = bool | np.ndarray


def _plain(value: np.ndarray) -> int | np.ndarray:
    """A score as an int where it is one number (scalar inputs), else the array."""
    return int(value) if np.ndim(value) == 0 else value


def _alike(scores: tuple) -> list[int | np.ndarray]:
    """Scores in one shape: each an int where the postures were numbers, else an array as long as the postures."""
    shape = np.broadcast_shapes(*(np.shape(score) for score in scores))
    return [_plain(np.broadcast_to(score, shape)) for score in scores]


def _pick(*bands: tuple[np.ndarray, int], otherwise: int) -> int | np.ndarray:
    """The score of the first band whose condition holds (the worksheets' "if ... else if ..."), else ``otherwise``;
    a NaN angle meets no condition."""
    return _plain(np.select([condition for condition, _ in bands], [score for _, score in bands], otherwise))


@dataclass(frozen=True)
class Posture:
    """What the video measured of a posture (degrees; flexion positive): each field a number or an array.

    The flags are measured where the video shows them (a side bend, an abduction beyond its threshold), else the
    job's assumption: the caller decides.  The knee counts for REBA's legs.
    """

    upper_arm: Values
    elbow_flexion: Values
    wrist_flexion: Values
    neck_flexion: Values
    trunk_flexion: Values
    knee_flexion: Values = 0.0
    arm_abducted: Flags = False
    neck_side_bent: Flags = False
    trunk_side_bent: Flags = False


@dataclass(frozen=True)
class TaskFactors:
    """What the video cannot show, as the worksheets ask it: one value for the whole task."""

    shoulder_raised: bool = False
    arm_supported: bool = False
    across_midline: bool = False
    wrist_deviated: bool = False
    wrist_twist_end_of_range: bool = False
    neck_twisted: bool = False
    trunk_twisted: bool = False
    legs_supported: bool = True
    sitting: bool = False
    unilateral_stance: bool = False
    #: RULA: muscle use (mainly static, or repeated > 4 times a minute) and the force/load score 0-3.
    muscle_use: bool = False
    force_load: int = 0
    #: REBA: load (kg), shock, coupling 0-3 and the activity score's three reasons.
    load_kg: float = 0.0
    shock: bool = False
    coupling: int = 0
    static_posture: bool = False
    repeated_actions: bool = False
    rapid_changes: bool = False
    neutral_tolerance: float = NEUTRAL_TOLERANCE

    def __post_init__(self) -> None:
        if not 0 <= self.force_load <= 3:
            raise ValueError("RULA force/load score must be 0, 1, 2 or 3.")
        if not 0 <= self.coupling <= 3:
            raise ValueError("REBA coupling must be 0 (good), 1 (fair), 2 (poor) or 3 (unacceptable).")
        if self.load_kg < 0:
            raise ValueError("REBA load cannot be negative.")


# -- body-part scores shared by both methods -------------------------------------------
def upper_arm_base(angle: Values) -> int | np.ndarray:
    """RULA/REBA upper arm: [-20, 20] -> 1; (20, 45] or < -20 -> 2; (45, 90] -> 3; > 90 -> 4."""
    angle = np.asarray(angle)
    return _pick((angle < -UPPER_ARM_NEUTRAL, 2), (angle <= UPPER_ARM_NEUTRAL, 1), (angle <= 45, 2), (angle <= 90, 3), otherwise=4)


def lower_arm_base(elbow_flexion: Values) -> int | np.ndarray:
    """Elbow flexion in [60, 100] -> 1, otherwise 2."""
    elbow_flexion = np.asarray(elbow_flexion)
    low, high = LOWER_ARM_NEUTRAL
    return _pick(((elbow_flexion >= low) & (elbow_flexion <= high), 1), otherwise=2)


def _upper_arm(angle: Values, shoulder_raised: bool, abducted: Flags, supported: bool) -> np.ndarray:
    return np.clip(upper_arm_base(angle) + np.asarray(shoulder_raised, int) + np.asarray(abducted, int) - int(supported), 1, 6)


# -- RULA -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RulaResult:
    upper_arm: int
    lower_arm: int
    wrist: int
    wrist_twist: int
    neck: int
    trunk: int
    legs: int
    table_a: int
    table_b: int
    score_c: int
    score_d: int
    grand_score: int
    action_level: int

    @classmethod
    def of(cls, *scores: np.ndarray) -> RulaResult:
        """The result of scalar postures as ints, of arrays of postures as arrays (a score no posture moves repeated)."""
        return cls(*_alike(scores))

    def as_dict(self) -> dict[str, int]:
        return asdict(self) if np.ndim(self.grand_score) == 0 else {field.name: getattr(self, field.name) for field in fields(self)}


def rula_wrist_base(flexion: Values, tolerance: float = NEUTRAL_TOLERANCE) -> int | np.ndarray:
    magnitude = np.abs(flexion)
    return _pick((magnitude <= tolerance, 1), (magnitude <= WRIST_BENT, 2), otherwise=3)


def rula_neck_base(flexion: Values, tolerance: float = NEUTRAL_TOLERANCE) -> int | np.ndarray:
    flexion = np.asarray(flexion)
    return _pick((flexion < -tolerance, 4), (flexion <= 10, 1), (flexion <= 20, 2), otherwise=3)  # 4: extension


def rula_trunk_base(flexion: Values, tolerance: float = NEUTRAL_TOLERANCE) -> int | np.ndarray:
    # The worksheet scores trunk extension like the upright band it borders; flexion drives the bands.
    flexion = np.asarray(flexion)
    return _pick((flexion <= tolerance, 1), (flexion <= 20, 2), (flexion <= 60, 3), otherwise=4)


#: The highest score each body part can get on each worksheet (with its adjustments), in worksheet order.
BODY_PART_MAXIMA = {"rula": {"upper_arm": 6, "lower_arm": 3, "wrist": 4, "neck": 6, "trunk": 6, "legs": 2},
                    "reba": {"trunk": 5, "neck": 3, "legs": 4, "upper_arm": 6, "lower_arm": 2, "wrist": 3}}

#: Each method's levels as (level, highest score in the level, label), lowest first: the one source of the
#: level thresholds for the scoring code, the summaries and the web page (which reads them from /api/info).
RISK_LEVELS: dict[str, list[tuple[int, int, str]]] = {
    "rula": [(1, 2, "acceptable"), (2, 4, "investigate further"), (3, 6, "investigate and change soon"),
             (4, 7, "investigate and change immediately")],
    "reba": [(0, 1, "negligible"), (1, 3, "low"), (2, 7, "medium"), (3, 10, "high"), (4, 15, "very high")],
}


def _level(method: str, score: Values) -> int | np.ndarray:
    """The level of each score: the first whose highest score it does not pass (the last level beyond them all)."""
    levels, highest = np.array([level for level, _, _ in RISK_LEVELS[method]]), np.array([top for _, top, _ in RISK_LEVELS[method]])
    return _plain(levels[np.minimum(np.searchsorted(highest, score), len(levels) - 1)])


def level_labels(method: str) -> dict[int, str]:
    """Level number -> label, for one method."""
    return {level: label for level, _, label in RISK_LEVELS[method]}


def rula_action_level(grand_score: int) -> int:
    """1-2 acceptable; 3-4 investigate further; 5-6 investigate and change soon; 7 change immediately."""
    return _level("rula", grand_score)


def rula_score(posture: Posture, factors: TaskFactors = TaskFactors()) -> RulaResult:
    """Score a posture (or an array of them) with RULA; returns every intermediate score."""
    tolerance = factors.neutral_tolerance
    ua = _upper_arm(posture.upper_arm, factors.shoulder_raised, posture.arm_abducted, factors.arm_supported)
    la = np.clip(lower_arm_base(posture.elbow_flexion) + int(factors.across_midline), 1, 3)
    wrist = np.clip(rula_wrist_base(posture.wrist_flexion, tolerance) + int(factors.wrist_deviated), 1, 4)
    twist = 2 if factors.wrist_twist_end_of_range else 1
    neck = np.clip(rula_neck_base(posture.neck_flexion, tolerance) + int(factors.neck_twisted) + np.asarray(posture.neck_side_bent, int), 1, 6)
    trunk = np.clip(rula_trunk_base(posture.trunk_flexion, tolerance) + int(factors.trunk_twisted)
                    + np.asarray(posture.trunk_side_bent, int), 1, 6)
    legs = 1 if factors.legs_supported else 2
    table_a = _RULA_A[ua - 1, la - 1, (wrist - 1) * 2 + (twist - 1)]
    table_b = _RULA_B[neck - 1, (trunk - 1) * 2 + (legs - 1)]
    score_c = table_a + int(factors.muscle_use) + factors.force_load
    score_d = table_b + int(factors.muscle_use) + factors.force_load
    grand = _RULA_C[np.minimum(score_c, 8) - 1, np.minimum(score_d, 7) - 1]
    return RulaResult.of(ua, la, wrist, twist, neck, trunk, legs, table_a, table_b, score_c, score_d, grand, rula_action_level(grand))


# -- REBA -----------------------------------------------------------------------------
REBA_RISK_LEVELS = tuple(level_labels("reba").values())


@dataclass(frozen=True)
class RebaResult:
    trunk: int
    neck: int
    legs: int
    upper_arm: int
    lower_arm: int
    wrist: int
    table_a: int
    table_b: int
    score_a: int
    score_b: int
    score_c: int
    reba_score: int
    risk_level: int  # index into REBA_RISK_LEVELS (0 negligible .. 4 very high)

    @classmethod
    def of(cls, *scores: np.ndarray) -> RebaResult:
        """The result of scalar postures as ints, of arrays of postures as arrays (a score no posture moves repeated)."""
        return cls(*_alike(scores))

    @property
    def risk(self) -> str:
        return REBA_RISK_LEVELS[self.risk_level]

    def as_dict(self) -> dict[str, int]:
        return asdict(self) if np.ndim(self.reba_score) == 0 else {field.name: getattr(self, field.name) for field in fields(self)}


def reba_trunk_base(flexion: Values, tolerance: float = NEUTRAL_TOLERANCE) -> int | np.ndarray:
    flexion = np.asarray(flexion)
    return _pick((np.abs(flexion) <= tolerance, 1), (flexion < -20, 3), (flexion < 0, 2), (flexion <= 20, 2), (flexion <= 60, 3),
                 otherwise=4)


def reba_neck_base(flexion: Values, tolerance: float = NEUTRAL_TOLERANCE) -> int | np.ndarray:
    flexion = np.asarray(flexion)
    return _pick(((flexion >= -tolerance) & (flexion <= 20), 1), otherwise=2)


def reba_legs(knee_flexion: Values, *, unilateral: bool = False, sitting: bool = False) -> int | np.ndarray:
    knee_flexion = np.asarray(knee_flexion)
    bent = 0 if sitting else _pick((knee_flexion > KNEE_BENDS[1], 2), (knee_flexion > KNEE_BENDS[0], 1), otherwise=0)
    return _plain(np.clip((2 if unilateral else 1) + np.asarray(bent), 1, 4))


def reba_wrist_base(flexion: Values) -> int | np.ndarray:
    return _pick((np.abs(flexion) <= WRIST_BENT, 1), otherwise=2)


def reba_risk_level(score: Values) -> int | np.ndarray:
    """1 negligible; 2-3 low; 4-7 medium; 8-10 high; 11-15 very high."""
    return _level("reba", score)


def reba_score(posture: Posture, factors: TaskFactors = TaskFactors()) -> RebaResult:
    """Score a posture (or an array of them) with REBA; returns every intermediate score.  Twisting and side bending
    count once for trunk and neck, as in the original paper; wrist deviation and twisting once for the wrist."""
    tolerance = factors.neutral_tolerance
    trunk = np.clip(reba_trunk_base(posture.trunk_flexion, tolerance) + np.asarray(factors.trunk_twisted | np.asarray(posture.trunk_side_bent), int), 1, 5)
    neck = np.clip(reba_neck_base(posture.neck_flexion, tolerance) + np.asarray(factors.neck_twisted | np.asarray(posture.neck_side_bent), int), 1, 3)
    legs = reba_legs(posture.knee_flexion, unilateral=factors.unilateral_stance, sitting=factors.sitting)
    ua = _upper_arm(posture.upper_arm, factors.shoulder_raised, posture.arm_abducted, factors.arm_supported)
    la = lower_arm_base(posture.elbow_flexion)
    wrist = np.clip(reba_wrist_base(posture.wrist_flexion) + int(factors.wrist_deviated or factors.wrist_twist_end_of_range), 1, 3)
    table_a = _REBA_A[trunk - 1, (neck - 1) * 4 + (legs - 1)]
    table_b = _REBA_B[ua - 1, (la - 1) * 3 + (wrist - 1)]
    load = (0 if factors.load_kg < 5 else 1 if factors.load_kg <= 10 else 2) + int(factors.shock)
    score_a = table_a + load
    score_b = table_b + factors.coupling
    score_c = _REBA_C[np.minimum(score_a, 12) - 1, np.minimum(score_b, 12) - 1]
    total = score_c + int(factors.static_posture) + int(factors.repeated_actions) + int(factors.rapid_changes)
    return RebaResult.of(trunk, neck, legs, ua, la, wrist, table_a, table_b, score_a, score_b, score_c, total, reba_risk_level(total))
