"""What to change (issue 28, point 8): the sourced table every recommendation comes from, and the rule that picks
the body parts driving the result, on hand-built postures scored as the pipeline scores them."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from pipeline.advice import ADVICE, DRIVING_MOMENTS, DRIVING_SHARE, PART_WORDS, SOURCES
from pipeline.assessment import AssessmentParams, score_frames
from pipeline.ergonomics import BODY_PART_MAXIMA
from pipeline.result_model import Summary
from pipeline.summary import summarize

#: A worker standing upright, arms low and elbows in the neutral band: every part score at its lowest.
UPRIGHT = {"trunk_flexion": 0.0, "neck_flexion": 5.0, "upper_arm_left": 10.0, "elbow_left": 80.0, "wrist_left": 0.0,
           "upper_arm_right": 10.0, "elbow_right": 80.0, "wrist_right": 0.0, "knee_left": 5.0, "knee_right": 5.0,
           "trunk_side_bend": 0.0, "neck_side_bend": 0.0}
STEP_S = 0.5


def summary_of(postures: list[dict], detected: np.ndarray | None = None) -> Summary:
    """The summary of frames STEP_S apart, each of the postures given, scored with the default task details."""
    angles = {name: np.array([posture[name] for posture in postures], dtype=float) for name in UPRIGHT}
    rula, reba, _ = score_frames(angles, AssessmentParams())
    count = len(postures)
    return summarize(rula=rula, reba=reba, detected=np.ones(count, bool) if detected is None else detected,
                     times=np.arange(count) * STEP_S, frame_indices=np.arange(count), frame_seconds=STEP_S,
                     bands={}, sustained=[], missing=[], damaged=[])


def entry(part: str, min_score: int):
    return next(advice for advice in ADVICE if advice.part == part and advice.min_score == min_score)


def test_every_entry_of_the_table_has_words_and_published_sources():
    assert {advice.part for advice in ADVICE} == set(BODY_PART_MAXIMA["rula"]) == set(PART_WORDS)  # every part scored
    for advice in ADVICE:
        assert 1 < advice.min_score <= BODY_PART_MAXIMA[advice.method][advice.part], advice
        assert len(advice.band.split()) >= 5 and f"score {advice.min_score} or more" in advice.band, advice
        assert len(advice.recommendation.split()) >= 15 and advice.recommendation.endswith("."), advice
        assert advice.sources and set(advice.sources) <= set(SOURCES), advice
        assert advice.method in advice.sources or advice.method.upper() in advice.band  # the method the band is read from
    for name, citation in SOURCES.values():
        assert name and re.search(r"(19|20)\d\d", citation) and len(citation.split()) >= 6, citation
    for part in PART_WORDS:  # a part's bands lowest first, as what_to_change reads them
        scores = [advice.min_score for advice in ADVICE if advice.part == part]
        assert scores == sorted(set(scores)), part


def test_a_part_raised_most_of_the_time_gets_its_recommendation_and_a_part_always_neutral_none():
    stooped = {**UPRIGHT, "trunk_flexion": 40.0, "neck_flexion": 5.0}
    summary = summary_of([stooped] * 8 + [UPRIGHT] * 2)
    assert summary.verdict.status == "assessable"
    findings = {finding.part: finding for finding in summary.what_to_change}
    assert set(findings) == {"trunk"}  # arms, neck, wrists and legs stayed neutral
    trunk = findings["trunk"]
    assert trunk.recommendation == entry("trunk", 3).recommendation and trunk.share == pytest.approx(0.8)
    assert "80% of the exactly scored time (4.0 s)" in trunk.why and "RULA trunk score 3 or more" in trunk.why
    assert {source.citation for source in trunk.sources} == {SOURCES[key][1] for key in entry("trunk", 3).sources}


def test_the_highest_band_that_drives_is_told_and_the_parts_most_often_raised_come_first():
    deep = {**UPRIGHT, "trunk_flexion": 75.0}
    reaching = {**deep, "upper_arm_left": 60.0, "upper_arm_right": 60.0}
    summary = summary_of([reaching] * 4 + [deep] * 4 + [UPRIGHT] * 2)
    assert [(f.part, f.min_score) for f in summary.what_to_change] == [("trunk", 4), ("upper_arm", 3)]
    assert summary.what_to_change[0].recommendation == entry("trunk", 4).recommendation


def test_a_part_raised_briefly_drives_the_result_when_it_makes_the_worst_moments():
    """Raised in under DRIVING_SHARE of the time, but at DRIVING_MOMENTS of the worst moments: listed; raised as
    briefly while the worst moments are stoops elsewhere: not."""
    count = 24
    peaks = [0, 8, 16][:DRIVING_MOMENTS]  # at least 1 s apart: each its own worst moment
    assert len(peaks) / count < DRIVING_SHARE
    lifting = {**UPRIGHT, "upper_arm_left": 100.0, "upper_arm_right": 100.0}
    summary = summary_of([lifting if i in peaks else UPRIGHT for i in range(count)])
    arm = next(f for f in summary.what_to_change if f.part == "upper_arm")
    assert f"at {len(peaks)} of the 5 worst RULA moments" in arm.why and arm.share < DRIVING_SHARE
    stooping = {**UPRIGHT, "trunk_flexion": 80.0, "neck_flexion": 30.0}
    crowded = [lifting if i in peaks else stooping if i % 4 == 2 else UPRIGHT for i in range(count)]  # stoops score higher
    assert "upper_arm" not in {f.part for f in summary_of(crowded).what_to_change}


def test_a_part_raised_often_drives_the_result_away_from_the_worst_moments_too():
    """Elbows straight half the time (RULA lower arm 2) while every worst moment is a stoop elsewhere: the share alone
    lists the lower arm."""
    straight = {**UPRIGHT, "elbow_left": 150.0, "elbow_right": 150.0}
    stooping = {**UPRIGHT, "trunk_flexion": 80.0}
    summary = summary_of([straight if i % 4 < 2 else stooping if i % 4 == 2 else UPRIGHT for i in range(24)])
    arm = next(f for f in summary.what_to_change if f.part == "lower_arm")
    assert arm.share == pytest.approx(0.5) and "worst" not in arm.why and arm.recommendation == entry("lower_arm", 2).recommendation
    assert {m.frame_index % 4 for m in summary.rula.worst_moments} == {2}  # the stoops


def test_a_job_that_is_not_assessable_gets_no_advice():
    stooped = {**UPRIGHT, "trunk_flexion": 70.0}
    summary = summary_of([stooped] * 6, detected=np.zeros(6, bool))
    assert summary.verdict.status == "not assessable" and summary.what_to_change == []
    unseen = dict.fromkeys(UPRIGHT, math.nan)
    assert summary_of([unseen] * 6).what_to_change == []


def test_a_summary_made_before_the_advice_still_reads():
    old = summary_of([UPRIGHT] * 3).model_dump()
    del old["what_to_change"]
    assert Summary.model_validate(old).what_to_change == []
