"""The trunk seen along the camera's line of sight (pipeline/viewpoint.py's depth uncertainty), on synthetic skeletons.

From behind, a forward bend moves the shoulders in the depth one camera guesses: BlazePose's trunk read 20-22 degrees
too far forward on the benchmark's worst back view (docs/pipeline.md, "How right the angles are").  The result records
how far the trunk may be off from its viewpoint, the trunk's scores are ranged over it and the verdict says why.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.analysis import AnalysisOptions, WorkerPoses, score_poses
from pipeline.angles import AngleSettings, CameraTilt, compute_world_angles
from pipeline.assessment import AssessmentParams, score_frames
from pipeline.numerics import in_force
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS
from pipeline.presets import get_preset
from pipeline.result_model import ViewpointRecord
from pipeline.summary import PARTLY_ASSESSABLE, summarize
from pipeline.viewpoint import BEHIND_TRUNK_DEPTH, Viewpoint, depth_uncertainty, trunk_uncertainty, viewpoint, viewpoint_words
from tests.test_partial_scores import POSTURE, angles_of
from tests.test_world_angles import world_skeleton

NAMES = list(BLAZEPOSE_KEYPOINTS)
LEVEL = CameraTilt(0.0, 0.0, "given")


def _seen(points: np.ndarray) -> np.ndarray:
    """(n, k, 3) image keypoints of (n, k, 3) world points projected straight onto the picture, all seen."""
    return np.concatenate([points[..., :2] * 500 + 400, np.full(points.shape[:2] + (1,), 0.9)], axis=-1)


@pytest.mark.parametrize("azimuth,expected", [(0.0, 0.0), (45.0, 0.0), (90.0, 0.0), (119.0, 0.0), (121.0, BEHIND_TRUNK_DEPTH),
                                              (135.0, BEHIND_TRUNK_DEPTH), (180.0, BEHIND_TRUNK_DEPTH), (None, 0.0), (math.nan, 0.0)])
def test_the_trunk_is_uncertain_for_depth_only_from_behind(azimuth, expected):
    assert depth_uncertainty(azimuth) == pytest.approx(expected)


@pytest.mark.parametrize("azimuth", [0.0, 30.0, 60.0, 90.0, 135.0, 180.0])
def test_a_depth_error_moves_the_flexion_by_the_cosine_of_the_azimuth(azimuth):
    """Why the side view is spared: a trunk tipped by a few degrees in depth (about the picture's horizontal axis,
    through the hips) reads that many degrees times the cosine of the azimuth more or less flexion, none from the side."""
    tip = 6.0
    body = world_skeleton(yaw=azimuth, trunk=10.0)
    hips = (body[NAMES.index("left_hip")] + body[NAMES.index("right_hip")]) / 2
    a = math.radians(tip)
    about_x = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]])
    tipped = body.copy()
    for name in ("left_shoulder", "right_shoulder"):
        tipped[NAMES.index(name)] = hips + about_x @ (body[NAMES.index(name)] - hips)
    world = np.stack([body, tipped])
    flexion = compute_world_angles(world, _seen(world), NAMES, AngleSettings(), LEVEL)["trunk_flexion"]
    assert flexion[0] == pytest.approx(10.0, abs=1e-6)
    assert abs(flexion[1] - flexion[0]) == pytest.approx(tip * abs(math.cos(math.radians(azimuth))), abs=0.6)


def test_the_viewpoint_records_the_trunks_uncertainty_and_it_adds_to_the_verticals():
    behind = np.stack([world_skeleton(yaw=180.0, trunk=15.0)] * 4)
    seen_from = viewpoint(behind, _seen(behind), NAMES, AngleSettings(), LEVEL)
    assert seen_from.median_azimuth == pytest.approx(180.0, abs=1e-6)
    assert seen_from.trunk_uncertainty == pytest.approx(BEHIND_TRUNK_DEPTH)
    assert ViewpointRecord(**seen_from.as_dict()).trunk_uncertainty == BEHIND_TRUNK_DEPTH
    loose = CameraTilt(15.0, 2.0, "stance", frames=40, spread=15.0)
    assert trunk_uncertainty(loose, seen_from) == pytest.approx(math.hypot(15.0, BEHIND_TRUNK_DEPTH))  # independent errors
    assert trunk_uncertainty(loose, Viewpoint({}, 10.0)) == 15.0 and trunk_uncertainty(None, None) == 0.0
    assert ViewpointRecord(frames={}, median_azimuth=None).trunk_uncertainty == 0.0  # an older result


def _summary(viewpoint_record: dict | None):
    uncertainty = 0.0 if viewpoint_record is None else viewpoint_record["trunk_uncertainty"]
    rula, reba, _ = score_frames(angles_of(*[{**POSTURE, "trunk_flexion": 18.0}] * 3), AssessmentParams(), trunk_uncertainty=uncertainty)
    return summarize(rula=rula, reba=reba, detected=np.ones(3, bool), times=np.arange(3) * 0.2, frame_indices=np.arange(3),
                     frame_seconds=0.2, bands={}, sustained=[], missing=[], damaged=[], viewpoint=viewpoint_record)


def test_the_verdict_says_the_trunk_was_seen_in_depth_from_behind():
    front = _summary(Viewpoint({"front": 3}, 10.0).as_dict())
    assert front.verdict.status == "assessable" and front.verdict.reasons == []
    behind = _summary(Viewpoint({"back": 3}, 170.0).as_dict())
    assert behind.verdict.status == PARTLY_ASSESSABLE
    reason, = behind.verdict.reasons
    assert "from behind" in reason and f"up to {depth_uncertainty(170.0):.0f}°" in reason
    assert f"RULA {behind.rula.max + 1}" in reason  # 18 degrees of trunk could be 38: a band higher
    assert any("from the side" in advice for advice in behind.verdict.advice)


def test_the_viewpoint_words_say_how_far_the_trunk_is_ranged():
    assert "ranged over 20° either way" in viewpoint_words(ViewpointRecord(**Viewpoint({"back": 4}, 180.0).as_dict()))
    assert "ranged" not in viewpoint_words(ViewpointRecord(**Viewpoint({"side": 4}, 95.0).as_dict()))


def test_an_analysis_filmed_from_behind_ranges_the_trunk_and_keeps_its_exact_scores():
    """Straight legs (a trusted vertical) and the worker's back to the camera: the trunk's scores span its depth's
    uncertainty while the exact ones stay the measured trunk's; filmed from the front, nothing is widened."""
    def scored(yaw: float):
        world = np.stack([world_skeleton(yaw=yaw, trunk=18.0)] * 12)
        count = len(world)
        poses = WorkerPoses(np.arange(count), np.arange(count) / 5.0, NAMES, _seen(world), world,
                            np.tile([0.0, 0.0, 800.0, 800.0, 0.9], (count, 1)), np.ones(count, bool), [""] * count)
        video = {"frame_count": count, "fps": 5.0, "width": 800, "height": 800, "rotation": 0, "codec": "h264", "reader": "pyav",
                 "size_bytes": 1, "duration": count / 5.0, "fallback_frames": []}
        return score_poses(poses, AnalysisOptions(get_preset("low")), video=video, model={"name": "synthetic", "numerics": in_force()},
                           damaged=[], job_id=None)

    front, behind = scored(0.0), scored(180.0)
    assert front.inputs.camera_tilt.confidence == behind.inputs.camera_tilt.confidence == "high"
    assert front.inputs.viewpoint.trunk_uncertainty == 0.0 and behind.inputs.viewpoint.trunk_uncertainty == BEHIND_TRUNK_DEPTH
    np.testing.assert_allclose(behind.angles["trunk_flexion"], 18.0, atol=1e-6)
    np.testing.assert_array_equal(behind.rula.grand_score, front.rula.grand_score)  # the measured trunk's exact scores
    np.testing.assert_array_equal(front.rula.grand_score_max, front.rula.grand_score)
    assert (behind.rula.grand_score_max > behind.rula.grand_score).all()
    assert any("from behind" in reason for reason in behind.summary.verdict.reasons)
    assert not any("from behind" in reason for reason in front.summary.verdict.reasons)
