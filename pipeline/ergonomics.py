"""RULA and REBA, exactly per the published worksheets.

Sources: McAtamney & Corlett (1993), Applied Ergonomics 24(2):91-99 (RULA);
Hignett & McAtamney (2000), Applied Ergonomics 31(2):201-205 (REBA).  The
tables and this project's conventions are in ``shared/reference/ergonomics.md``:

* angles in degrees, flexion positive, extension negative;
* a value exactly on a published boundary belongs to the lower-score band
  (upper arm 20.0 scores 1, 45.0 scores 2, 90.0 scores 3);
* "neutral" bands accept ``|angle| <= neutral_tolerance`` (default 5 degrees);
* every body-part score is clamped to the range its table has.

Both functions are pure: angles and flags in, every intermediate score out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

NEUTRAL_TOLERANCE = 5.0

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


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


# -- body-part scores shared by both methods -------------------------------------------
def upper_arm_base(angle: float) -> int:
    """RULA/REBA upper arm: [-20, 20] -> 1; (20, 45] or < -20 -> 2; (45, 90] -> 3; > 90 -> 4."""
    if angle < -20:
        return 2
    if angle <= 20:
        return 1
    if angle <= 45:
        return 2
    if angle <= 90:
        return 3
    return 4


def lower_arm_base(elbow_flexion: float) -> int:
    """Elbow flexion in [60, 100] -> 1, otherwise 2."""
    return 1 if 60 <= elbow_flexion <= 100 else 2


def _upper_arm(angle: float, shoulder_raised: bool, abducted: bool, supported: bool) -> int:
    return _clamp(upper_arm_base(angle) + shoulder_raised + abducted - supported, 1, 6)


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

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def rula_wrist_base(flexion: float, tolerance: float = NEUTRAL_TOLERANCE) -> int:
    magnitude = abs(flexion)
    if magnitude <= tolerance:
        return 1
    return 2 if magnitude <= 15 else 3


def rula_neck_base(flexion: float, tolerance: float = NEUTRAL_TOLERANCE) -> int:
    if flexion < -tolerance:
        return 4  # extension
    if flexion <= 10:
        return 1
    return 2 if flexion <= 20 else 3


def rula_trunk_base(flexion: float, tolerance: float = NEUTRAL_TOLERANCE) -> int:
    # The worksheet scores trunk extension like the upright band it borders; flexion drives the bands.
    if flexion <= tolerance:
        return 1
    if flexion <= 20:
        return 2
    return 3 if flexion <= 60 else 4


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


def _level(method: str, score: int) -> int:
    return next((level for level, highest, _ in RISK_LEVELS[method] if score <= highest), RISK_LEVELS[method][-1][0])


def level_labels(method: str) -> dict[int, str]:
    """Level number -> label, for one method."""
    return {level: label for level, _, label in RISK_LEVELS[method]}


def rula_action_level(grand_score: int) -> int:
    """1-2 acceptable; 3-4 investigate further; 5-6 investigate and change soon; 7 change immediately."""
    return _level("rula", grand_score)


def rula_score(
    *,
    upper_arm: float,
    elbow_flexion: float,
    wrist_flexion: float,
    neck_flexion: float,
    trunk_flexion: float,
    shoulder_raised: bool = False,
    arm_abducted: bool = False,
    arm_supported: bool = False,
    across_midline: bool = False,
    wrist_deviated: bool = False,
    wrist_twist_end_of_range: bool = False,
    neck_twisted: bool = False,
    neck_side_bent: bool = False,
    trunk_twisted: bool = False,
    trunk_side_bent: bool = False,
    legs_supported: bool = True,
    muscle_use: bool = False,
    force_load: int = 0,
    neutral_tolerance: float = NEUTRAL_TOLERANCE,
) -> RulaResult:
    """Score one posture with RULA; returns every intermediate score."""
    if not 0 <= force_load <= 3:
        raise ValueError("RULA force/load score must be 0, 1, 2 or 3.")
    ua = _upper_arm(upper_arm, shoulder_raised, arm_abducted, arm_supported)
    la = _clamp(lower_arm_base(elbow_flexion) + across_midline, 1, 3)
    wrist = _clamp(rula_wrist_base(wrist_flexion, neutral_tolerance) + wrist_deviated, 1, 4)
    twist = 2 if wrist_twist_end_of_range else 1
    neck = _clamp(rula_neck_base(neck_flexion, neutral_tolerance) + neck_twisted + neck_side_bent, 1, 6)
    trunk = _clamp(rula_trunk_base(trunk_flexion, neutral_tolerance) + trunk_twisted + trunk_side_bent, 1, 6)
    legs = 1 if legs_supported else 2
    table_a = RULA_TABLE_A[ua - 1][la - 1][(wrist - 1) * 2 + (twist - 1)]
    table_b = RULA_TABLE_B[neck - 1][(trunk - 1) * 2 + (legs - 1)]
    score_c = table_a + muscle_use + force_load
    score_d = table_b + muscle_use + force_load
    grand = RULA_TABLE_C[min(score_c, 8) - 1][min(score_d, 7) - 1]
    return RulaResult(ua, la, wrist, twist, neck, trunk, legs, table_a, table_b, score_c, score_d, grand, rula_action_level(grand))


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

    @property
    def risk(self) -> str:
        return REBA_RISK_LEVELS[self.risk_level]

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def reba_trunk_base(flexion: float, tolerance: float = NEUTRAL_TOLERANCE) -> int:
    if abs(flexion) <= tolerance:
        return 1
    if flexion < 0:
        return 2 if flexion >= -20 else 3
    if flexion <= 20:
        return 2
    return 3 if flexion <= 60 else 4


def reba_neck_base(flexion: float, tolerance: float = NEUTRAL_TOLERANCE) -> int:
    return 1 if -tolerance <= flexion <= 20 else 2


def reba_legs(knee_flexion: float, *, unilateral: bool = False, sitting: bool = False) -> int:
    base = 2 if unilateral else 1
    if not sitting and knee_flexion > 60:
        base += 2
    elif not sitting and knee_flexion > 30:
        base += 1
    return _clamp(base, 1, 4)


def reba_wrist_base(flexion: float) -> int:
    return 1 if abs(flexion) <= 15 else 2


def reba_risk_level(score: int) -> int:
    """1 negligible; 2-3 low; 4-7 medium; 8-10 high; 11-15 very high."""
    return _level("reba", score)


def reba_score(
    *,
    trunk_flexion: float,
    neck_flexion: float,
    knee_flexion: float,
    upper_arm: float,
    elbow_flexion: float,
    wrist_flexion: float,
    trunk_twisted_or_side_bent: bool = False,
    neck_twisted_or_side_bent: bool = False,
    unilateral_stance: bool = False,
    sitting: bool = False,
    load_kg: float = 0.0,
    shock: bool = False,
    shoulder_raised: bool = False,
    arm_abducted: bool = False,
    arm_supported: bool = False,
    wrist_deviated_or_twisted: bool = False,
    coupling: int = 0,
    static_posture: bool = False,
    repeated_actions: bool = False,
    rapid_changes: bool = False,
    neutral_tolerance: float = NEUTRAL_TOLERANCE,
) -> RebaResult:
    """Score one posture with REBA; returns every intermediate score."""
    if not 0 <= coupling <= 3:
        raise ValueError("REBA coupling must be 0 (good), 1 (fair), 2 (poor) or 3 (unacceptable).")
    if load_kg < 0:
        raise ValueError("REBA load cannot be negative.")
    trunk = _clamp(reba_trunk_base(trunk_flexion, neutral_tolerance) + trunk_twisted_or_side_bent, 1, 5)
    neck = _clamp(reba_neck_base(neck_flexion, neutral_tolerance) + neck_twisted_or_side_bent, 1, 3)
    legs = reba_legs(knee_flexion, unilateral=unilateral_stance, sitting=sitting)
    ua = _upper_arm(upper_arm, shoulder_raised, arm_abducted, arm_supported)
    la = lower_arm_base(elbow_flexion)
    wrist = _clamp(reba_wrist_base(wrist_flexion) + wrist_deviated_or_twisted, 1, 3)
    table_a = REBA_TABLE_A[trunk - 1][(neck - 1) * 4 + (legs - 1)]
    table_b = REBA_TABLE_B[ua - 1][(la - 1) * 3 + (wrist - 1)]
    load = (0 if load_kg < 5 else 1 if load_kg <= 10 else 2) + shock
    score_a = table_a + load
    score_b = table_b + coupling
    score_c = REBA_TABLE_C[min(score_a, 12) - 1][min(score_b, 12) - 1]
    total = score_c + static_posture + repeated_actions + rapid_changes
    return RebaResult(trunk, neck, legs, ua, la, wrist, table_a, table_b, score_a, score_b, score_c, total, reba_risk_level(total))
