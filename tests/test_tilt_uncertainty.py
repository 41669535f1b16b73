"""A camera whose tilt is not known with confidence: the verdict says so, and the trunk's scores become a range as
wide as the vertical's uncertainty, checked against brute force over every trunk within it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.analysis import AnalysisOptions, WorkerPoses, score_poses
from pipeline.angles import UNKNOWN_TILT_UNCERTAINTY, CameraTilt
from pipeline.assessment import AssessmentParams, score_frames, widened_trunk
from pipeline.numerics import in_force
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS
from pipeline.presets import get_preset
from pipeline.summary import PARTLY_ASSESSABLE, summarize
from tests.test_partial_scores import POSTURE, angles_of
from tests.test_world_angles import world_skeleton


def test_the_uncertainty_follows_the_confidence():
    assert CameraTilt(12.0, 3.0, "given").uncertainty == 0.0
    assert CameraTilt(12.0, 3.0, "stance", frames=40, spread=4.0).uncertainty == 0.0  # high confidence: trusted
    assert CameraTilt(12.0, 3.0, "stance", frames=40, spread=14.0).uncertainty == 14.0  # loose legs: their spread
    assert CameraTilt(12.0, 3.0, "stance", frames=6, spread=4.0).uncertainty == 10.0  # few frames: no better than trusted
    none = CameraTilt(0.0, 0.0, "none", frames=2)
    assert none.uncertainty == UNKNOWN_TILT_UNCERTAINTY and none.as_dict()["uncertainty"] == UNKNOWN_TILT_UNCERTAINTY


def test_the_widened_trunks_cover_the_uncertainty_and_keep_the_measured_one():
    flexion, side_bend = widened_trunk(np.array([10.0, 40.0]), np.array([5.0, math.nan]), 7.5)
    assert flexion.shape == side_bend.shape == (2, 17 * 3)
    assert flexion[0].min() == 2.5 and flexion[0].max() == 17.5 and 10.0 in flexion[0] and 40.0 in flexion[1]
    assert set(side_bend[0]) == {0.0, 5.0, 12.5} and np.isnan(side_bend[1]).all()  # not measured: the assumption stands


@pytest.mark.parametrize("trunk,uncertainty", [(18.0, 10.0), (3.0, 10.0), (45.0, 30.0), (-12.0, 14.0)])
def test_an_exact_frame_keeps_its_score_and_ranges_over_every_trunk_within_the_uncertainty(trunk, uncertainty):
    params = AssessmentParams(load_kg=6)
    posture = {**POSTURE, "trunk_flexion": trunk, "trunk_side_bend": 12.0}
    rula, reba, inputs = score_frames(angles_of(posture), params, trunk_uncertainty=uncertainty)
    measured, _, _ = score_frames(angles_of(posture), params)
    assert rula["grand_score"][0] == measured["grand_score"][0] and inputs["frames_scored"] == 1  # still exact
    possible = [score_frames(angles_of({**posture, "trunk_flexion": trunk + offset, "trunk_side_bend": side}), params)
                for offset in np.arange(-uncertainty, uncertainty + 0.01, 1.0) for side in (max(0.0, 12.0 - uncertainty), 12.0, 12.0 + uncertainty)]
    rulas, rebas = [r["grand_score"][0] for r, _, _ in possible], [b["reba_score"][0] for _, b, _ in possible]
    assert (rula["grand_score_min"][0], rula["grand_score_max"][0]) == (min(rulas), max(rulas))
    assert (reba["reba_score_min"][0], reba["reba_score_max"][0]) == (min(rebas), max(rebas))
    assert max(rulas) - min(rulas) + max(rebas) - min(rebas) > 0  # these postures cross a band: the range is wider


def test_a_frame_ranged_for_a_hidden_arm_ranges_over_the_trunk_too():
    """Its range is the union of the ranges each trunk within the uncertainty would give with the arm unseen."""
    params = AssessmentParams()
    unseen_arm = dict.fromkeys(("upper_arm_left", "elbow_left", "wrist_left", "upper_arm_right", "elbow_right", "wrist_right"), math.nan)
    posture = {**POSTURE, **unseen_arm, "trunk_flexion": 19.0}
    wide, wide_reba, inputs = score_frames(angles_of(posture), params, trunk_uncertainty=10.0)
    assert inputs["frames_ranged"] == 1 and np.isnan(wide["grand_score"][0])
    each = [score_frames(angles_of({**posture, "trunk_flexion": trunk}), params) for trunk in np.arange(9.0, 29.01, 1.0)]
    assert wide["grand_score_min"][0] == min(r["grand_score_min"][0] for r, _, _ in each)
    assert wide["grand_score_max"][0] == max(r["grand_score_max"][0] for r, _, _ in each)
    assert wide_reba["reba_score_min"][0] == min(b["reba_score_min"][0] for _, b, _ in each)
    assert wide_reba["reba_score_max"][0] == max(b["reba_score_max"][0] for _, b, _ in each)
    assert len({(r["grand_score_min"][0], b["reba_score_min"][0]) for r, b, _ in each}) > 1  # the trunks do differ


def _summary(camera_tilt: dict | None, *, trunk: float = 18.0):
    rula, reba, _ = score_frames(angles_of(*[{**POSTURE, "trunk_flexion": trunk}] * 3), AssessmentParams(),
                                 trunk_uncertainty=0.0 if camera_tilt is None else camera_tilt["uncertainty"])
    return summarize(rula=rula, reba=reba, detected=np.ones(3, bool), times=np.arange(3) * 0.2, frame_indices=np.arange(3),
                     frame_seconds=0.2, bands={}, sustained=[], missing=[], damaged=[], camera_tilt=camera_tilt)


def test_the_verdict_says_when_the_vertical_is_not_known_with_confidence():
    known = _summary(CameraTilt(15.0, 2.0, "stance", frames=40, spread=4.0).as_dict())
    assert known.verdict.status == "assessable" and known.verdict.reasons == []
    unknown = _summary(CameraTilt(0.0, 0.0, "none", frames=2).as_dict())
    assert unknown.verdict.status == PARTLY_ASSESSABLE
    reason, = unknown.verdict.reasons
    assert "could not be estimated" in reason and "in 2 frames" in reason and "up to 30°" in reason
    assert f"RULA {unknown.rula.max + 1}" in reason  # 18 degrees of trunk could be 48: a band higher
    assert any("camera's angle" in advice for advice in unknown.verdict.advice)
    loose = _summary(CameraTilt(15.0, 2.0, "stance", frames=40, spread=13.0).as_dict())
    assert "low confidence" in loose.verdict.reasons[0] and "within 13°" in loose.verdict.reasons[0] and "up to 13°" in loose.verdict.reasons[0]


def test_an_analysis_without_a_stance_ranges_the_trunk_and_says_why():
    """Bent knees throughout: no tilt estimate, so the result records the uncertainty, widens the trunk's scores and
    names the reason in its verdict (the same path re-scores take)."""
    world = np.stack([world_skeleton(trunk=18.0, knee=70.0)] * 8)
    keypoints = np.concatenate([world[..., :2] * 500 + 400, np.full(world.shape[:2] + (1,), 0.9)], axis=-1)
    count = len(world)
    poses = WorkerPoses(np.arange(count), np.arange(count) / 5.0, list(BLAZEPOSE_KEYPOINTS), keypoints, world,
                        np.tile([0.0, 0.0, 800.0, 800.0, 0.9], (count, 1)), np.ones(count, bool), [""] * count)
    video = {"frame_count": count, "fps": 5.0, "width": 800, "height": 800, "rotation": 0, "codec": "h264", "reader": "pyav",
             "size_bytes": 1, "duration": count / 5.0, "fallback_frames": []}
    result = score_poses(poses, AnalysisOptions(get_preset("low")), video=video, model={"name": "synthetic", "numerics": in_force()}, damaged=[], job_id=None)
    tilt = result.inputs.camera_tilt
    assert (tilt.method, tilt.uncertainty) == ("none", UNKNOWN_TILT_UNCERTAINTY)
    assert (result.rula.grand_score_max > result.rula.grand_score).all()
    assert any("could not be estimated" in reason for reason in result.summary.verdict.reasons)


def test_the_report_says_how_far_the_trunk_is_ranged():
    from pipeline.report import vertical_words
    from pipeline.result_model import CameraTiltRecord

    def words(tilt: CameraTilt) -> str:
        return vertical_words(CameraTiltRecord(**tilt.as_dict()))

    assert "ranged over 30° either way" in words(CameraTilt(0.0, 0.0, "none", 2))
    assert "ranged over 13° either way" in words(CameraTilt(15.0, 2.0, "stance", frames=40, spread=13.0))
    assert "ranged" not in words(CameraTilt(15.0, 2.0, "stance", frames=40, spread=4.0))


def test_frames_widened_a_slice_at_a_time_get_their_own_ranges(monkeypatch):
    import pipeline.assessment as assessment

    postures = [{**POSTURE, "trunk_flexion": trunk} for trunk in (-25.0, 3.0, 18.0, 45.0, 70.0)]
    alone = [score_frames(angles_of(posture), AssessmentParams(), trunk_uncertainty=12.0) for posture in postures]
    monkeypatch.setattr(assessment, "WIDENED_FRAMES_AT_ONCE", 2)
    rula, reba, _ = score_frames(angles_of(*postures), AssessmentParams(), trunk_uncertainty=12.0)
    assert rula["grand_score_max"].tolist() == [r["grand_score_max"][0] for r, _, _ in alone]
    assert reba["reba_score_min"].tolist() == [b["reba_score_min"][0] for _, b, _ in alone]
    assert len(set(rula["grand_score_max"].tolist())) > 1  # the frames do differ
