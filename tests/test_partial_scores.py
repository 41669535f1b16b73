"""Honest partial scores: a frame where a body part is not seen keeps the scores of what was seen, and its grand
scores become a range, checked here against brute force over every angle the unseen part could have."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.assessment import AssessmentParams, parts_out_of_view, score_frames
from pipeline.summary import summarize

POSTURE = {"trunk_flexion": 25.0, "neck_flexion": 15.0, "upper_arm_left": 50.0, "elbow_left": 70.0, "wrist_left": 10.0,
           "upper_arm_right": 10.0, "elbow_right": 90.0, "wrist_right": math.nan, "knee_left": 20.0, "knee_right": 10.0,
           "trunk_side_bend": math.nan, "neck_side_bend": math.nan}


def angles_of(*postures: dict) -> dict[str, np.ndarray]:
    return {name: np.array([posture[name] for posture in postures], dtype=float) for name in POSTURE}


def exact(postures: list[dict], params: AssessmentParams) -> list[tuple[int, int]]:
    rula, reba, _ = score_frames(angles_of(*postures), params)
    return list(zip(rula["grand_score"].astype(int), reba["reba_score"].astype(int), strict=True))


# what "not seen" sets to NaN, and a fine grid of what the unseen angles could have been
UNSEEN = {
    "trunk": ({"trunk_flexion"}, [{"trunk_flexion": a} for a in np.arange(-60, 120, 2.5)]),
    "neck": ({"neck_flexion"}, [{"neck_flexion": a} for a in np.arange(-45, 60, 2.5)]),
    "arm": ({"upper_arm_left", "elbow_left", "wrist_left", "upper_arm_right", "elbow_right", "wrist_right"},
            [{"upper_arm_left": u, "elbow_left": e, "wrist_left": math.nan} for u in np.arange(-60, 180, 5.0) for e in np.arange(0, 170, 10.0)]),
}


@pytest.mark.parametrize("tolerance", [5.0, 15.0])
@pytest.mark.parametrize("missing", [("trunk",), ("neck",), ("arm",), ("trunk", "neck"), ("neck", "arm")])
def test_the_range_is_exactly_what_the_unseen_parts_could_give(missing, tolerance):
    params = AssessmentParams(neutral_tolerance=tolerance, load_kg=6)
    hidden = {name for part in missing for name in UNSEEN[part][0]}
    rula, reba, inputs = score_frames(angles_of({**POSTURE, **dict.fromkeys(hidden, math.nan)}), params)
    grids = [UNSEEN[part][1] for part in missing]
    postures = []
    for combo in np.array(np.meshgrid(*[range(len(g)) for g in grids])).T.reshape(-1, len(grids)):
        posture = dict(POSTURE)
        for grid, index in zip(grids, combo, strict=True):
            posture.update(grid[index])
        if "arm" in missing:
            posture.update({"upper_arm_right": math.nan, "elbow_right": math.nan})
        postures.append(posture)
    possible = exact(postures, params)
    assert np.isnan(rula["grand_score"][0]) and np.isnan(reba["reba_score"][0])  # not claimed exactly
    assert (rula["grand_score_min"][0], rula["grand_score_max"][0]) == (min(r for r, _ in possible), max(r for r, _ in possible))
    assert (reba["reba_score_min"][0], reba["reba_score_max"][0]) == (min(b for _, b in possible), max(b for _, b in possible))
    assert inputs["frames_scored"] == 0 and inputs["frames_ranged"] == 1


def test_what_was_seen_keeps_its_score():
    params = AssessmentParams()
    full_rula, full_reba, _ = score_frames(angles_of(POSTURE), params)
    no_arm = {**POSTURE, **dict.fromkeys(UNSEEN["arm"][0], math.nan)}
    rula, reba, _ = score_frames(angles_of(no_arm), params)
    for name in ("trunk", "neck", "legs", "table_b"):  # what the arm does not move
        assert rula[name][0] == full_rula[name][0]
    for name in ("trunk", "neck", "legs", "table_a"):
        assert reba[name][0] == full_reba[name][0]
    for name in ("upper_arm", "lower_arm", "table_a", "action_level"):
        assert np.isnan(rula[name][0])
    assert rula["grand_score_min"][0] <= full_rula["grand_score"][0] <= rula["grand_score_max"][0]
    # a frame scored exactly has a range of one score
    assert full_rula["grand_score_min"][0] == full_rula["grand_score_max"][0] == full_rula["grand_score"][0]


def test_frames_are_counted_scored_ranged_or_unscored():
    nothing = dict.fromkeys(POSTURE, math.nan)
    no_neck = {**POSTURE, "neck_flexion": math.nan}
    angles = angles_of(POSTURE, no_neck, nothing, POSTURE)
    rula, reba, inputs = score_frames(angles, AssessmentParams())
    times = np.arange(4) * 0.5
    summary = summarize(rula=rula, reba=reba, detected=np.array([True, True, False, True]), times=times, frame_indices=np.arange(4),
                        frame_seconds=0.5, bands={}, sustained=[], missing=[], damaged=[])
    assert (summary.frames_scored, summary.frames_ranged, summary.frames_unscored) == (2, 1, 1)
    assert summary.rula.scored_frames == 2 and summary.rula.ranged_frames == 1
    assert summary.rula.ranged_max == rula["grand_score_max"][1] and summary.rula.shares_of == "scored_frames"
    assert sum(level.frames for level in summary.rula.levels.values()) == 2  # shares are of the scored frames


def test_each_frame_names_the_parts_out_of_view_and_the_verdict_names_those_out_most_of_the_time():
    legless = {**POSTURE, "knee_left": math.nan, "knee_right": math.nan}
    no_trunk = {**legless, "trunk_flexion": math.nan}
    angles = angles_of(POSTURE, legless, no_trunk, legless, dict.fromkeys(POSTURE, math.nan))
    detected = np.array([True, True, True, True, False])
    out_of_view = parts_out_of_view(angles, detected)
    assert out_of_view == ["", "legs", "trunk; legs", "legs", ""]  # no person: nothing said of the parts
    rula, reba, _ = score_frames(angles, AssessmentParams())
    summary = summarize(rula=rula, reba=reba, detected=detected, times=np.arange(5) * 0.2, frame_indices=np.arange(5),
                        frame_seconds=0.2, bands={}, sustained=[], missing=[], damaged=[], out_of_view=out_of_view)
    assert summary.parts_out_of_view == {"legs": 3, "trunk": 1}
    judged = summary.verdict
    assert judged.status == "partly assessable"
    reason = next(reason for reason in judged.reasons if "out of view most of the time" in reason)
    assert "the legs in 3 of 4 frames" in reason and "trunk" not in reason  # the trunk was hidden in 1 of 4 only
    assert "3 frames were scored exactly, 1 as a range" in reason


def test_a_score_left_in_a_frame_without_the_worker_never_reaches_the_headline():
    """Whatever the scoring left there, the summary's figures come from frames with the worker only."""
    rula, reba, _ = score_frames(angles_of(POSTURE, {**POSTURE, "trunk_flexion": 100.0, "upper_arm_left": 150.0}), AssessmentParams())
    summary = summarize(rula=rula, reba=reba, detected=np.array([True, False]), times=np.array([0.0, 2.0]), frame_indices=np.arange(2),
                        frame_seconds=0.2, bands={}, sustained=[], missing=[], damaged=[])
    assert summary.frames_scored == 1 and summary.rula.max == rula["grand_score"][0] < rula["grand_score"][1]
    assert [moment.frame_index for block in (summary.rula, summary.reba) for moment in block.worst_moments] == [0, 0]

