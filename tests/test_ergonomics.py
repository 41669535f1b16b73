"""RULA and REBA: tables transcribed exactly, every band boundary, every adjustment."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from pipeline import ergonomics as E

REFERENCE = (Path(__file__).resolve().parent.parent / "docs" / "ergonomics-reference.md").read_text()


def _block(title: str) -> list[list[int]]:
    """The numbers of the fenced table that follows ``title`` in the reference."""
    start = REFERENCE.index(title)
    body = REFERENCE[start:].split("```", 2)[1]
    rows = []
    for line in body.strip().splitlines():
        if line.startswith("UA"):
            continue
        numbers = [int(n) for n in re.findall(r"\d+", line.split(":", 1)[-1])]
        rows.append(numbers)
    return rows


def test_rula_tables_match_the_reference():
    table_a = _block("Table A: rows upper arm (UA)")
    assert [row[2:] for row in table_a] == [E.RULA_TABLE_A[ua][la] for ua in range(6) for la in range(3)]
    assert [row[:2] for row in table_a] == [[ua + 1, la + 1] for ua in range(6) for la in range(3)]
    assert _block("Table B: rows neck 1..6") == E.RULA_TABLE_B
    assert _block("Table C: rows score C") == E.RULA_TABLE_C


def test_reba_tables_match_the_reference():
    reba = REFERENCE[REFERENCE.index("## REBA"):]
    assert _block_in(reba, "Table A: rows trunk") == E.REBA_TABLE_A
    assert _block_in(reba, "Table B: rows upper arm") == E.REBA_TABLE_B
    assert _block_in(reba, "Table C: rows score A") == E.REBA_TABLE_C


def _block_in(text: str, title: str) -> list[list[int]]:
    body = text[text.index(title):].split("```", 2)[1]
    return [[int(n) for n in re.findall(r"\d+", line.split(":", 1)[1])] for line in body.strip().splitlines()]


NEUTRAL = dict(upper_arm=0.0, elbow_flexion=80.0, wrist_flexion=0.0, neck_flexion=0.0, trunk_flexion=0.0)


POSTURE_FIELDS = {field.name for field in fields(E.Posture)}


def records(**values) -> tuple[E.Posture, E.TaskFactors]:
    """The measured posture and the task factors, each value where its record has it."""
    values = {**NEUTRAL, **values}
    return (E.Posture(**{k: v for k, v in values.items() if k in POSTURE_FIELDS}),
            E.TaskFactors(**{k: v for k, v in values.items() if k not in POSTURE_FIELDS}))


def rula(**changes):
    return E.rula_score(*records(**changes))


def reba(**changes):
    return E.reba_score(*records(**changes))


@pytest.mark.parametrize("angle,score", [(-25, 2), (-20, 1), (0, 1), (19, 1), (20, 1), (21, 2), (44, 2), (45, 2),
                                         (46, 3), (89, 3), (90, 3), (91, 4), (170, 4)])
def test_upper_arm_bands(angle, score):
    assert rula(upper_arm=angle).upper_arm == score
    assert reba(upper_arm=angle).upper_arm == score


@pytest.mark.parametrize("angle,score", [(0, 2), (59, 2), (60, 1), (100, 1), (101, 2), (150, 2)])
def test_lower_arm_bands(angle, score):
    assert rula(elbow_flexion=angle).lower_arm == score
    assert reba(elbow_flexion=angle).lower_arm == score


@pytest.mark.parametrize("angle,rula_wrist,reba_wrist", [(0, 1, 1), (5, 1, 1), (-5, 1, 1), (6, 2, 1), (15, 2, 1),
                                                          (-15, 2, 1), (16, 3, 2), (-40, 3, 2)])
def test_wrist_bands(angle, rula_wrist, reba_wrist):
    assert rula(wrist_flexion=angle).wrist == rula_wrist
    assert reba(wrist_flexion=angle).wrist == reba_wrist


@pytest.mark.parametrize("angle,score", [(-6, 4), (-5, 1), (0, 1), (10, 1), (11, 2), (20, 2), (21, 3), (70, 3)])
def test_rula_neck_bands(angle, score):
    assert rula(neck_flexion=angle).neck == score


@pytest.mark.parametrize("angle,score", [(-30, 1), (0, 1), (5, 1), (6, 2), (20, 2), (21, 3), (60, 3), (61, 4)])
def test_rula_trunk_bands(angle, score):
    assert rula(trunk_flexion=angle).trunk == score


@pytest.mark.parametrize("angle,score", [(-6, 2), (-5, 1), (20, 1), (21, 2)])
def test_reba_neck_bands(angle, score):
    assert reba(neck_flexion=angle).neck == score


@pytest.mark.parametrize("angle,score", [(-21, 3), (-20, 2), (-6, 2), (-5, 1), (5, 1), (6, 2), (20, 2), (21, 3), (60, 3), (61, 4)])
def test_reba_trunk_bands(angle, score):
    assert reba(trunk_flexion=angle).trunk == score


@pytest.mark.parametrize("knee,unilateral,sitting,score", [(0, False, False, 1), (30, False, False, 1), (31, False, False, 2),
                                                           (60, False, False, 2), (61, False, False, 3), (61, True, False, 4),
                                                           (90, True, True, 2), (90, False, True, 1)])
def test_reba_legs(knee, unilateral, sitting, score):
    assert reba(knee_flexion=knee, unilateral_stance=unilateral, sitting=sitting).legs == score


def test_neutral_tolerance_is_configurable():
    assert rula(trunk_flexion=7).trunk == 2
    assert rula(trunk_flexion=7, neutral_tolerance=8).trunk == 1
    assert reba(trunk_flexion=-7, neutral_tolerance=8).trunk == 1


def test_rula_adjustments_and_clamping():
    assert rula(upper_arm=100, shoulder_raised=True, arm_abducted=True).upper_arm == 6
    assert rula(upper_arm=100, shoulder_raised=True, arm_abducted=True, arm_supported=True).upper_arm == 5
    assert rula(upper_arm=0, arm_supported=True).upper_arm == 1  # clamped at the table's floor
    assert rula(elbow_flexion=30, across_midline=True).lower_arm == 3
    assert rula(wrist_flexion=30, wrist_deviated=True).wrist == 4
    assert rula(wrist_twist_end_of_range=True).wrist_twist == 2
    assert rula(neck_flexion=-30, neck_twisted=True, neck_side_bent=True).neck == 6
    assert rula(trunk_flexion=70, trunk_twisted=True, trunk_side_bent=True).trunk == 6
    assert rula(legs_supported=False).legs == 2


def test_rula_table_lookups_and_grand_score():
    worst = rula(upper_arm=100, shoulder_raised=True, arm_abducted=True, elbow_flexion=10, across_midline=True,
                 wrist_flexion=30, wrist_deviated=True, wrist_twist_end_of_range=True, neck_flexion=-30,
                 neck_twisted=True, neck_side_bent=True, trunk_flexion=70, trunk_twisted=True, trunk_side_bent=True,
                 legs_supported=False, muscle_use=True, force_load=3)
    assert (worst.table_a, worst.table_b) == (9, 9)
    assert (worst.score_c, worst.score_d) == (13, 13)
    assert worst.grand_score == 7 and worst.action_level == 4  # Table C clamped at its last row and column
    mid = rula(upper_arm=50, elbow_flexion=120, wrist_flexion=10, neck_flexion=15, trunk_flexion=30)
    assert (mid.upper_arm, mid.lower_arm, mid.wrist, mid.neck, mid.trunk) == (3, 2, 2, 2, 3)
    assert mid.table_a == E.RULA_TABLE_A[2][1][2] == 4
    assert mid.table_b == E.RULA_TABLE_B[1][4] == 4
    assert mid.grand_score == E.RULA_TABLE_C[3][3] == 4 and mid.action_level == 2


@pytest.mark.parametrize("grand,level", [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4)])
def test_rula_action_levels(grand, level):
    assert E.rula_action_level(grand) == level


def test_reba_adjustments_loads_and_activity():
    assert reba(trunk_flexion=70, trunk_twisted=True).trunk == 5
    assert reba(neck_flexion=30, neck_side_bent=True).neck == 3
    assert reba(wrist_flexion=30, wrist_twist_end_of_range=True).wrist == 3
    assert [reba(load_kg=kg).score_a for kg in (4.9, 5, 10, 10.1)] == [1, 2, 2, 3]
    assert reba(load_kg=12, shock=True).score_a == 4
    assert [reba(coupling=c).score_b for c in range(4)] == [1, 2, 3, 4]
    base = reba().reba_score
    assert reba(static_posture=True, repeated_actions=True, rapid_changes=True).reba_score == base + 3


def test_reba_table_lookups_and_risk():
    result = reba(trunk_flexion=30, neck_flexion=25, knee_flexion=45, upper_arm=60, elbow_flexion=30, wrist_flexion=20,
                  load_kg=7, coupling=1)
    assert (result.trunk, result.neck, result.legs, result.upper_arm, result.lower_arm, result.wrist) == (3, 2, 2, 3, 2, 2)
    assert result.table_a == E.REBA_TABLE_A[2][4 + 1] == 5
    assert result.table_b == E.REBA_TABLE_B[2][3 + 1] == 5
    assert (result.score_a, result.score_b) == (6, 6)
    assert result.score_c == E.REBA_TABLE_C[5][5] == 8 and result.risk == "high"
    clamped = reba(trunk_flexion=70, trunk_twisted=True, neck_flexion=30, neck_side_bent=True,
                   knee_flexion=90, unilateral_stance=True, load_kg=20, shock=True, upper_arm=120, shoulder_raised=True,
                   arm_abducted=True, elbow_flexion=0, wrist_flexion=40, wrist_twist_end_of_range=True, coupling=3)
    assert clamped.score_a == 12 and clamped.score_b == 12 and clamped.score_c == 12


@pytest.mark.parametrize("score,level", [(1, "negligible"), (2, "low"), (3, "low"), (4, "medium"), (7, "medium"),
                                         (8, "high"), (10, "high"), (11, "very high"), (15, "very high")])
def test_reba_risk_levels(score, level):
    assert E.REBA_RISK_LEVELS[E.reba_risk_level(score)] == level


def test_invalid_adjustment_values_are_refused():
    with pytest.raises(ValueError, match="force"):
        rula(force_load=4)
    with pytest.raises(ValueError, match="coupling"):
        reba(coupling=5)
    with pytest.raises(ValueError, match="load"):
        reba(load_kg=-1)


def test_side_bend_and_twist_count_once_in_reba_and_arrays_score_like_numbers():
    """REBA's +1 is for twisted or side-bent, not each; and a posture array scores each element as a number would."""
    assert reba(trunk_flexion=30, trunk_twisted=True, trunk_side_bent=True).trunk == reba(trunk_flexion=30, trunk_twisted=True).trunk == 4
    angles = np.array([-30.0, 0.0, 21.0, 50.0, 95.0, np.nan])
    many = E.rula_score(E.Posture(upper_arm=angles, elbow_flexion=80.0, wrist_flexion=angles / 3, neck_flexion=angles / 2,
                                  trunk_flexion=angles, trunk_side_bent=angles > 40), E.TaskFactors(force_load=1))
    for i, angle in enumerate(angles):
        one = rula(upper_arm=angle, wrist_flexion=angle / 3, neck_flexion=angle / 2, trunk_flexion=angle, trunk_side_bent=bool(angle > 40),
                   force_load=1)
        assert {name: int(values[i]) for name, values in many.as_dict().items()} == one.as_dict()
