"""Angles from 3D world points (BlazePose), and how measured wrists and side bends reach the scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.analysis import AnalysisOptions
from pipeline.angles import AngleSettings, CameraTilt, camera_tilt, compute_angles, compute_world_angles, hidden_trunk_angles, prefer_3d
from pipeline.assessment import AssessmentParams, parts_out_of_view, score_frames
from pipeline.pose.base import COCO_KEYPOINTS
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS
from pipeline.presets import get_preset

UP = np.array([0.0, -1.0, 0.0])  # world y points down, as in the image


def _towards(reference: np.ndarray, towards: np.ndarray, degrees: float) -> np.ndarray:
    """``reference`` turned by ``degrees`` towards ``towards`` (both unit, square to each other)."""
    a = math.radians(degrees)
    return math.cos(a) * reference + math.sin(a) * towards


def world_skeleton(*, yaw=0.0, trunk=0.0, side=0.0, neck=0.0, arm=0.0, elbow=0.0, wrist=0.0, knee=0.0, abduct=0.0) -> np.ndarray:
    """(33, 3) metric points of a person facing ``yaw`` degrees away from the camera's direction.

    ``arm`` turns the upper arms forward from hanging; ``abduct`` then turns them out to the side (the elbow follows).
    """
    y = math.radians(yaw)
    forward = np.array([math.sin(y), 0.0, -math.cos(y)])  # yaw 0: facing the camera (-z)
    left = np.cross(UP, forward)
    t, f = math.radians(trunk), math.radians(side)
    along_trunk = math.cos(f) * math.cos(t) * UP + math.sin(t) * forward + math.cos(t) * math.sin(f) * left
    chest_forward = np.cross(left, along_trunk)
    hips = {"left_hip": 0.1 * left, "right_hip": -0.1 * left}
    top = 0.5 * along_trunk
    head = _towards(along_trunk, chest_forward, neck)
    p = {**hips, "left_shoulder": top + 0.18 * left, "right_shoulder": top - 0.18 * left,
         "left_ear": top + 0.25 * head + 0.07 * left, "right_ear": top + 0.25 * head - 0.07 * left, "nose": top + 0.25 * head}
    for name in ("left", "right"):
        shoulder = p[f"{name}_shoulder"]
        outward = left if name == "left" else -left
        elbow_point = shoulder + 0.3 * _towards(_towards(-along_trunk, chest_forward, arm), outward, abduct)
        wrist_point = elbow_point + 0.25 * _towards(-along_trunk, chest_forward, arm + elbow)
        hand = _towards(-along_trunk, chest_forward, arm + elbow + wrist)
        knee_point = p[f"{name}_hip"] - 0.45 * UP
        p.update({f"{name}_elbow": elbow_point, f"{name}_wrist": wrist_point,
                  f"{name}_index": wrist_point + 0.08 * hand + 0.02 * left, f"{name}_pinky": wrist_point + 0.08 * hand - 0.02 * left,
                  f"{name}_knee": knee_point, f"{name}_ankle": knee_point + 0.45 * _towards(-UP, -forward, knee)})
    points = np.full((len(BLAZEPOSE_KEYPOINTS), 3), np.nan)
    for index, name in enumerate(BLAZEPOSE_KEYPOINTS):
        if name in p:
            points[index] = p[name]
    return points


def world_angles(**pose) -> dict[str, float]:
    world = world_skeleton(**pose)[None]
    keypoints = np.concatenate([world[..., :2] * 500, np.full(world.shape[:2] + (1,), 0.9)], axis=-1)
    return {name: float(v[0]) for name, v in compute_world_angles(world, keypoints, BLAZEPOSE_KEYPOINTS).items()}


POSTURE = {"trunk": 30.0, "neck": 15.0, "arm": 60.0, "elbow": 45.0, "wrist": 25.0, "knee": 30.0}
EXPECTED = {"trunk_flexion": 30.0, "neck_flexion": 15.0, "upper_arm_left": 60.0, "upper_arm_right": 60.0, "elbow_left": 45.0,
            "wrist_right": 25.0, "knee_left": 30.0, "trunk_side_bend": 0.0, "neck_side_bend": 0.0}


@pytest.mark.parametrize("yaw", [0.0, 90.0, -135.0, 180.0])
def test_3d_angles_do_not_depend_on_where_the_camera_stands(yaw):
    measured = world_angles(yaw=yaw, **POSTURE)
    for name, value in EXPECTED.items():
        assert measured[name] == pytest.approx(value, abs=1e-6), name


@pytest.mark.parametrize("trunk,arm", [(-15.0, -30.0), (100.0, 120.0)])
def test_3d_signs_extension_and_bending_past_horizontal(trunk, arm):
    measured = world_angles(yaw=40.0, trunk=trunk, arm=arm)
    assert measured["trunk_flexion"] == pytest.approx(trunk, abs=1e-6)
    assert measured["upper_arm_left"] == pytest.approx(arm, abs=1e-6)


@pytest.mark.parametrize("yaw", [0.0, 70.0])
def test_an_arm_raised_to_the_side_never_flips(yaw):
    """Elevation from 0 to 180 straight out to the side, and round at shoulder height from the front to the side:
    the sagittal flexion is undefined at the side (it once read 0 or 180 there); the elevation is not."""
    for abduct in np.arange(0.0, 181.0, 5.0):
        measured = world_angles(yaw=yaw, abduct=float(abduct))
        assert measured["upper_arm_left"] == pytest.approx(abduct, abs=1e-6), abduct
        assert measured["upper_arm_right"] == pytest.approx(abduct, abs=1e-6), abduct
    for sideways in np.arange(0.0, 91.0, 2.5):
        assert world_angles(yaw=yaw, arm=90.0, abduct=float(sideways))["upper_arm_left"] == pytest.approx(90.0, abs=1e-6)
    raised = world_angles(arm=20.0, abduct=89.9)["upper_arm_left"]
    assert raised == pytest.approx(math.degrees(math.acos(math.cos(math.radians(20.0)) * math.cos(math.radians(89.9)))), abs=1e-6)


def test_only_an_arm_behind_the_trunk_reads_as_extension():
    assert world_angles(arm=-40.0)["upper_arm_left"] == pytest.approx(-40.0, abs=1e-6)
    assert world_angles(arm=-40.0, abduct=60.0)["upper_arm_left"] > 0  # more out to the side than behind
    assert world_angles(arm=-40.0, abduct=20.0)["upper_arm_left"] < 0


def _camera(pitch: float, roll: float) -> np.ndarray:
    """From a level camera's axes to those of one pitched down ``pitch`` and rolled ``roll`` degrees."""
    p, r = math.radians(pitch), math.radians(roll)
    down_by_pitch = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    return np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]]) @ down_by_pitch


def _tilted_video(pitch: float, roll: float, poses: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """World points and keypoints of ``poses`` filmed by a tilted camera."""
    world = np.stack([world_skeleton(**pose) for pose in poses]) @ _camera(pitch, roll).T
    return world, np.concatenate([world[..., :2] * 500, np.full(world.shape[:2] + (1,), 0.9)], axis=-1)


@pytest.mark.parametrize("pitch,roll,yaw", [(20.0, 0.0, 0.0), (25.0, -15.0, 180.0), (-10.0, 8.0, 60.0)])
def test_a_tilted_camera_does_not_tilt_the_trunk(pitch, roll, yaw):
    """The camera's tilt is found from the worker's straight legs over the video (frames with bent knees left
    out), and the trunk is measured against gravity: 30 degrees stays 30 whichever way the camera leans."""
    poses = [{"yaw": yaw, "trunk": 30.0}] * 8 + [{"yaw": yaw, "trunk": 30.0, "knee": 70.0}] * 4
    world, keypoints = _tilted_video(pitch, roll, poses)
    names = BLAZEPOSE_KEYPOINTS
    tilt = camera_tilt(world, keypoints, names)
    expected = CameraTilt.from_down(_camera(pitch, roll) @ -UP, "")
    assert (tilt.method, tilt.frames, tilt.confidence) == ("stance", 8, "low")  # fewer than 10 frames: low
    assert (tilt.pitch, tilt.roll) == (pytest.approx(expected.pitch, abs=1e-6), pytest.approx(expected.roll, abs=1e-6))
    assert expected.pitch == pytest.approx(pitch, abs=1e-6) or roll != 0  # pitch as a person filming means it
    levelled = compute_world_angles(world, keypoints, names, tilt=tilt)
    np.testing.assert_allclose(levelled["trunk_flexion"], 30.0, atol=1e-6)
    np.testing.assert_allclose(levelled["trunk_side_bend"], 0.0, atol=1e-6)
    assert abs(compute_world_angles(world, keypoints, names)["trunk_flexion"][0] - 30.0) > 1.5  # against the camera's up: 2-25 off


def test_a_given_camera_angle_overrides_the_estimate_and_no_stance_means_no_estimate():
    world, keypoints = _tilted_video(20.0, 0.0, [{"knee": 70.0}] * 12)
    assert camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS).as_dict() == {
        "pitch": 0.0, "roll": 0.0, "method": "none", "confidence": "none", "frames": 0, "spread": None,
        "uncertainty": 30.0, "lines": 0, "line_length": 0.0, "scene_pitch": None, "scene_roll": None}
    standing, seen = _tilted_video(20.0, 0.0, [{}] * 12)
    seen[:, [BLAZEPOSE_KEYPOINTS.index("left_ankle"), BLAZEPOSE_KEYPOINTS.index("right_ankle")], 2] = 0.4  # legs guessed
    assert camera_tilt(standing, seen, BLAZEPOSE_KEYPOINTS).method == "none"
    given = camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, AngleSettings(camera_pitch=20.0, camera_roll=0.0))
    assert (given.method, given.confidence, given.pitch) == ("given", "high", 20.0)
    np.testing.assert_allclose(compute_world_angles(world, keypoints, BLAZEPOSE_KEYPOINTS, tilt=given)["trunk_flexion"], 0.0, atol=1e-6)
    # given with the job (the task details), it is the analysis's: the API, the CLI and the page set those
    options = AnalysisOptions(get_preset("low"), params=AssessmentParams(camera_pitch=20.0, camera_roll=0.0))
    assert camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, options.angles) == given
    assert AnalysisOptions(get_preset("low")).angles == AngleSettings()


def test_side_bending_is_measured_apart_from_flexion():
    leaning = world_angles(side=25.0)
    assert leaning["trunk_side_bend"] == pytest.approx(25.0, abs=1e-6) and leaning["trunk_flexion"] == pytest.approx(0.0, abs=1e-6)
    both = world_angles(trunk=12.0, side=40.0)
    # a projection onto the sagittal plane would read atan(tan 12 / cos 40) = 15.5 degrees
    assert both["trunk_flexion"] == pytest.approx(12.0, abs=1e-6)


def test_each_angle_comes_from_3d_where_measured_there_else_2d():
    image = {"trunk_flexion": np.array([10.0, 20.0, np.nan]), "wrist_left": np.array([np.nan, 5.0, np.nan])}
    world = {"trunk_flexion": np.array([12.0, np.nan, np.nan]), "wrist_left": np.array([7.0, 8.0, np.nan])}
    merged, sources = prefer_3d(world, image)
    assert np.allclose(merged["trunk_flexion"][:2], [12.0, 20.0]) and np.isnan(merged["trunk_flexion"][2])
    assert sources == {"trunk_flexion": {"3d": 1, "2d": 1, "2d_in_picture": 0}, "wrist_left": {"3d": 2, "2d": 0, "2d_in_picture": 0}}
    assert prefer_3d(None, image)[1]["trunk_flexion"] == {"3d": 0, "2d": 2, "2d_in_picture": 0}


def test_2d_wrists_need_hand_points():
    coco = np.zeros((1, len(COCO_KEYPOINTS), 3), np.float32) + 0.9
    assert np.isnan(compute_angles(coco, COCO_KEYPOINTS)["wrist_left"]).all()
    world = world_skeleton(yaw=90.0, wrist=30.0)  # side view: the bend lies in the image plane
    keypoints = np.concatenate([world[:, :2] * 500, np.full((len(world), 1), 0.9)], axis=-1)[None]
    assert compute_angles(keypoints, BLAZEPOSE_KEYPOINTS)["wrist_left"][0] == pytest.approx(30.0, abs=1e-3)


def _scores(**measured: float):
    angles = {name: np.array([value]) for name, value in world_angles(**POSTURE).items()}
    angles.update({name: np.array([value]) for name, value in measured.items()})
    return score_frames(angles, AssessmentParams())


def test_abduction_is_measured_and_raises_the_upper_arm_score_as_the_worksheet_says():
    """An arm raised 60 degrees to the side scores as an elevation of 60 (3) plus 1 for the abduction; the same
    elevation forward scores 3; the job's `arm_abducted` stands only where abduction is not measured (2D)."""
    sideways = world_angles(abduct=60.0)
    assert sideways["upper_arm_abduction_left"] == pytest.approx(60.0, abs=1e-6)
    assert world_angles(arm=60.0)["upper_arm_abduction_right"] == pytest.approx(0.0, abs=1e-6)
    assert world_angles(abduct=-15.0)["upper_arm_abduction_left"] == pytest.approx(-15.0, abs=1e-6)  # across the body
    out, out_reba, inputs = _scores(upper_arm_left=60.0, upper_arm_right=60.0, upper_arm_abduction_left=60.0, upper_arm_abduction_right=60.0)
    forward, forward_reba, _ = _scores(upper_arm_left=60.0, upper_arm_right=60.0, upper_arm_abduction_left=0.0, upper_arm_abduction_right=0.0)
    assert (out["upper_arm"][0], forward["upper_arm"][0]) == (4, 3) and out_reba["upper_arm"][0] == forward_reba["upper_arm"][0] + 1
    assert "arm_abducted" in inputs["measured"]
    angles = {name: np.array([value]) for name, value in world_angles(**POSTURE).items()}
    angles["upper_arm_abduction_left"] = angles["upper_arm_abduction_right"] = np.array([np.nan])
    assumed, _, assumed_inputs = score_frames(angles, AssessmentParams(arm_abducted=True))
    assert assumed["upper_arm"][0] == 4 and "arm_abducted" not in assumed_inputs["measured"]


def test_measured_wrists_and_side_bends_replace_the_assumptions():
    rula, reba, inputs = _scores()
    assert rula["wrist"][0] == 3 and reba["wrist"][0] == 2  # 25 degrees measured, not the assumed 0
    assert {"wrist_flexion", "trunk_side_bent", "neck_side_bent"} <= set(inputs["measured"])
    assert inputs["frames_measured"] == {"wrist_flexion": 1, "trunk_side_bent": 1, "neck_side_bent": 1, "arm_abducted": 1}
    bent, bent_reba, _ = _scores(trunk_side_bend=30.0)  # beyond the 20-degree threshold
    assert bent["trunk"][0] == rula["trunk"][0] + 1 and bent_reba["trunk"][0] == reba["trunk"][0] + 1
    unseen, _, unseen_inputs = _scores(wrist_left=np.nan, wrist_right=np.nan)
    assert unseen["wrist"][0] == 1 and "wrist_flexion" not in unseen_inputs["measured"]  # the assumed neutral wrist


#: Postures seen from the waist up: seated upright, leaning to the side (the demo's), bent forward reaching, head down.
HIDDEN_TRUNK_POSTURES = [dict(trunk=3.0, neck=8.0, arm=10.0, elbow=80.0), dict(trunk=4.0, side=38.0, neck=12.0, arm=25.0, elbow=60.0),
                         dict(trunk=48.0, neck=-10.0, arm=95.0, elbow=20.0, yaw=90.0), dict(trunk=14.0, neck=35.0, arm=30.0, abduct=40.0, yaw=-45.0),
                         dict(trunk=-12.0, side=-22.0, neck=25.0, arm=-30.0, elbow=110.0, yaw=150.0)]


def _seen_and_hidden(pose: dict) -> tuple[tuple, tuple]:
    """RULA and REBA (scores, ranges) of one posture with the hips in view, and with them (and the legs) out of it."""
    world = world_skeleton(**pose)[None]
    keypoints = np.concatenate([world[..., :2] * 500, np.full(world.shape[:2] + (1,), 0.9)], axis=-1)
    seen = score_frames(compute_world_angles(world, keypoints, BLAZEPOSE_KEYPOINTS), AssessmentParams())
    below = [BLAZEPOSE_KEYPOINTS.index(f"{side}_{joint}") for side in ("left", "right") for joint in ("hip", "knee", "ankle")]
    keypoints[:, below, 2] = 0.0
    angles = compute_world_angles(world, keypoints, BLAZEPOSE_KEYPOINTS)
    hidden = hidden_trunk_angles(world, keypoints, BLAZEPOSE_KEYPOINTS)
    return seen, (*score_frames(angles, AssessmentParams(), hidden), parts_out_of_view(angles, np.ones(1, bool), hidden))


@pytest.mark.parametrize("pose", HIDDEN_TRUNK_POSTURES)
def test_with_the_hips_hidden_neck_and_arms_are_ranged_with_every_trunk_they_could_hang_from(pose):
    """The trunk out of view, the frame is ranged (not dropped), and its range holds the score it has with the trunk seen;
    what no trunk moves (the lower arm, the wrist) keeps its score."""
    (rula, reba, _), (hidden_rula, hidden_reba, inputs, out_of_view) = _seen_and_hidden(pose)
    assert inputs["frames_ranged"] == 1 and np.isnan(hidden_rula["grand_score"][0]) and out_of_view == ["trunk; legs"]
    assert hidden_rula["grand_score_min"][0] <= rula["grand_score"][0] <= hidden_rula["grand_score_max"][0]
    assert hidden_reba["reba_score_min"][0] <= reba["reba_score"][0] <= hidden_reba["reba_score_max"][0]
    for part in ("lower_arm", "wrist"):
        assert hidden_rula[part][0] == rula[part][0], part


def test_a_bent_over_trunk_is_not_read_as_bent_sideways():
    """Past horizontal, the side bend stays what it is (0 here), not 180 degrees."""
    assert world_angles(trunk=110.0)["trunk_side_bend"] == pytest.approx(0.0, abs=1e-6)
