"""The knee bending along the camera's line of sight (pipeline/viewpoint.py's ``sagittal_along_sight``), on synthetic skeletons.

Filmed from the front or behind, BlazePose's depth reads a bending knee 7-17 degrees too straight on the four-camera
benchmark (``benchmarks/knee_depth.py``).  Per frame where the knees' bend lies along the line of sight, REBA's range
reaches up to :data:`pipeline.viewpoint.KNEE_DEPTH` more knee bend; the exact scores stay the measured knee's; the
verdict says why.  From the side nothing is ranged.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.analysis import AnalysisOptions, WorkerPoses, score_poses
from pipeline.assessment import AssessmentParams, raised_knees, score_frames
from pipeline.ergonomics import KNEE_BENDS, reba_legs
from pipeline.numerics import in_force
from pipeline.presets import get_preset
from pipeline.result_model import ViewpointRecord
from pipeline.summary import PARTLY_ASSESSABLE, summarize
from pipeline.viewpoint import KNEE_DEPTH, Viewpoint, sagittal_along_sight, viewpoint_words
from tests.test_partial_scores import POSTURE, angles_of
from tests.test_trunk_truth import NAMES, _seen
from tests.test_world_angles import world_skeleton

#: The camera's angle given, so that bent legs leave the vertical known and only the knee is ranged.
LEVEL_GIVEN = AssessmentParams(camera_pitch=0.0, camera_roll=0.0)


@pytest.mark.parametrize("azimuth,along", [(0.0, True), (45.0, True), (59.0, True), (61.0, False), (90.0, False), (119.0, False),
                                           (121.0, True), (180.0, True), (math.nan, False)])
def test_the_knee_lies_along_the_line_of_sight_except_from_the_side(azimuth, along):
    """The sagittal plane (a knee's bend, an upper arm's front and back: tests/test_arm_sign.py) is edge-on enough
    from the front and behind, beyond IMAGE_PLANE_LIMIT (60) from square; about the side it is not; no azimuth, no claim."""
    assert bool(sagittal_along_sight(np.array([azimuth]))[0]) is along


def test_the_candidate_knees_reach_every_band_up_to_the_uncertainty_and_never_below():
    knees = raised_knees(np.array([25.0, 25.0, 50.0]), np.array([KNEE_DEPTH, 0.0, KNEE_DEPTH]))
    assert (knees[:, 0] == [25.0, 25.0, 50.0]).all()  # the measured knee first
    assert (knees >= knees[:, :1]).all() and (knees <= knees[:, :1] + np.array([[KNEE_DEPTH], [0.0], [KNEE_DEPTH]])).all()
    assert set(reba_legs(knees[0]).tolist()) == {1, 2}  # 25 could be 45: past the first border
    assert set(reba_legs(knees[1]).tolist()) == {1}
    assert set(reba_legs(knees[2]).tolist()) == {2, 3}  # 50 could be 70: past the second
    assert KNEE_BENDS[1] < knees[2].max() <= 50.0 + KNEE_DEPTH


def _knee_frames(knee: float) -> dict[str, np.ndarray]:
    return angles_of(*[{**POSTURE, "knee_left": knee, "knee_right": knee}] * 2)


def test_a_knee_along_the_line_of_sight_raises_rebas_range_only_and_keeps_the_exact_score():
    doubt = np.array([KNEE_DEPTH, 0.0])
    rula, reba, _ = score_frames(_knee_frames(25.0), AssessmentParams(), knee_uncertainty=doubt)
    plain_rula, plain_reba, _ = score_frames(_knee_frames(25.0), AssessmentParams())
    for name in ("reba_score", "legs"):
        np.testing.assert_array_equal(reba[name], plain_reba[name])  # the exact scores: the knee as measured
    np.testing.assert_array_equal(reba["reba_score_min"], plain_reba["reba_score"])
    assert reba["reba_score_max"][0] > reba["reba_score"][0]  # 25 degrees could be 45: legs +1
    assert reba["reba_score_max"][1] == reba["reba_score"][1]  # the frame seen from the side
    for name in ("grand_score", "grand_score_min", "grand_score_max"):
        np.testing.assert_array_equal(rula[name], plain_rula[name])  # RULA's legs do not count the knee


def test_a_knee_not_seen_keeps_the_jobs_assumption_unranged():
    rula, reba, _ = score_frames(_knee_frames(math.nan), AssessmentParams(), knee_uncertainty=np.full(2, KNEE_DEPTH))
    np.testing.assert_array_equal(reba["reba_score_max"], reba["reba_score"])


def test_a_frame_ranged_for_a_hidden_part_also_reaches_the_knee():
    angles = angles_of(*[{**POSTURE, "trunk_flexion": math.nan, "knee_left": 25.0, "knee_right": 25.0}] * 2)
    _, plain, _ = score_frames(angles, AssessmentParams())
    _, reba, _ = score_frames(angles, AssessmentParams(), knee_uncertainty=np.array([KNEE_DEPTH, 0.0]))
    assert np.isnan(reba["reba_score"]).all() and reba["legs"][0] == plain["legs"][0]  # the legs score: the knee as measured
    assert reba["reba_score_max"][0] > plain["reba_score_max"][0] and reba["reba_score_max"][1] == plain["reba_score_max"][1]
    np.testing.assert_array_equal(reba["reba_score_min"], plain["reba_score_min"])


def _analysed(yaw: float, knee: float = 25.0):
    world = np.stack([world_skeleton(yaw=yaw, trunk=10.0, knee=knee)] * 12)
    count = len(world)
    poses = WorkerPoses(np.arange(count), np.arange(count) / 5.0, NAMES, _seen(world), world,
                        np.tile([0.0, 0.0, 800.0, 800.0, 0.9], (count, 1)), np.ones(count, bool), [""] * count)
    video = {"frame_count": count, "fps": 5.0, "width": 800, "height": 800, "rotation": 0, "codec": "h264", "reader": "pyav",
             "size_bytes": 1, "duration": count / 5.0, "fallback_frames": []}
    return score_poses(poses, AnalysisOptions(get_preset("low"), params=LEVEL_GIVEN), video=video,
                       model={"name": "synthetic", "numerics": in_force()}, damaged=[], job_id=None)


def test_a_knee_bending_towards_the_camera_is_ranged_and_the_same_knee_from_the_side_is_not():
    front, side, behind = _analysed(0.0), _analysed(90.0), _analysed(180.0)
    for result in (front, side, behind):
        np.testing.assert_allclose(result.angles["knee_left"], 25.0, atol=1.0)  # synthetic depth: read right from every side
        assert result.inputs.viewpoint.trunk_uncertainty == (20.0 if result is behind else 0.0)
    np.testing.assert_array_equal(front.reba.reba_score, side.reba.reba_score)  # the exact score never changes
    np.testing.assert_array_equal(side.reba.reba_score_max, side.reba.reba_score)
    assert (front.reba.reba_score_max > front.reba.reba_score).all() and (behind.reba.reba_score_max > behind.reba.reba_score).all()
    assert front.inputs.viewpoint.knee_frames == 12 and front.inputs.viewpoint.knee_uncertainty == KNEE_DEPTH
    assert side.inputs.viewpoint.knee_frames == 0 and side.inputs.viewpoint.knee_uncertainty == 0.0
    assert any("knees were seen from the front or behind" in reason for reason in front.summary.verdict.reasons)
    assert front.summary.verdict.status == PARTLY_ASSESSABLE
    assert not any("knee" in reason for reason in side.summary.verdict.reasons)
    assert any("Film from the side, where the knees' bend" in advice for advice in front.summary.verdict.advice)


def test_a_straight_leg_from_the_front_keeps_its_exact_score_within_its_range():
    front = _analysed(0.0, knee=0.0)
    np.testing.assert_array_equal(front.reba.reba_score_max, front.reba.reba_score)  # 0 could be 20: still under 30


def test_an_older_result_has_no_knee_range_and_the_words_say_how_far_it_reaches():
    assert ViewpointRecord(frames={}, median_azimuth=None).knee_frames == 0
    assert ViewpointRecord(frames={}, median_azimuth=None).knee_uncertainty == 0.0
    front = ViewpointRecord(**Viewpoint({"front": 4}, 10.0, np.ones(4, bool)).as_dict())
    assert f"ranged up to {KNEE_DEPTH:.0f}° more knee bend" in viewpoint_words(front) and "100% of frames" in viewpoint_words(front)
    side = ViewpointRecord(**Viewpoint({"side": 4}, 90.0, np.zeros(4, bool)).as_dict())
    assert "knee" not in viewpoint_words(side)


def test_the_verdict_names_the_knees_only_when_most_frames_had_them_along_the_line_of_sight():
    def verdict(along: int):
        record = Viewpoint({"front": 2}, 10.0, np.arange(2) < along).as_dict()
        rula, reba, _ = score_frames(_knee_frames(25.0), AssessmentParams(), knee_uncertainty=np.full(2, record["knee_uncertainty"]))
        return summarize(rula=rula, reba=reba, detected=np.ones(2, bool), times=np.arange(2) * 0.2, frame_indices=np.arange(2),
                         frame_seconds=0.2, bands={}, sustained=[], missing=[], damaged=[], viewpoint=record).verdict

    assert verdict(0).reasons == [] and verdict(1).reasons == []  # half of 2 frames: not most
    reason, = verdict(2).reasons
    assert f"up to {KNEE_DEPTH:.0f}° more" in reason and "at most REBA" in reason


def test_frames_without_a_knee_seen_are_not_counted_along_the_line_of_sight():
    seen_from = Viewpoint({"front": 3}, 10.0, np.ones(3, bool)).knees_seen(np.array([True, False, False]))
    assert seen_from.as_dict()["knee_frames"] == 1 and seen_from.knee_uncertainty.tolist() == [KNEE_DEPTH, 0.0, 0.0]
