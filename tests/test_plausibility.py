"""The rules that decide whether a pose is a person, on hand-made 3D points (the real clips are in
test_real_footage.py)."""

from __future__ import annotations

import numpy as np

from pipeline.plausibility import judge
from pipeline.pose.blazepose import BlazePose

NAMES = BlazePose.keypoint_names
#: A standing adult, metres (x right, y down): what the rules must accept.
BODY = {"left_shoulder": (0.18, -0.45, 0), "right_shoulder": (-0.18, -0.45, 0), "left_hip": (0.1, 0, 0),
        "right_hip": (-0.1, 0, 0), "left_ear": (0.075, -0.65, 0), "right_ear": (-0.075, -0.65, 0)}


def poses(frames: int, **changes: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    world = np.zeros((frames, len(NAMES), 3), np.float32)
    for name, point in {**BODY, **changes}.items():
        world[:, NAMES.index(name)] = point
    boxes = np.zeros((frames, 5), np.float32)
    boxes[:, 4] = 0.99
    return boxes, world, np.ones(frames, bool)


def test_a_person_is_accepted():
    assert judge(*poses(3), NAMES) == ["", "", ""]


def test_a_skeleton_with_narrow_shoulders_and_a_tiny_head_is_rejected_saying_why():
    boxes, world, detected = poses(3, left_shoulder=(0.02, -0.45, 0), right_shoulder=(-0.02, -0.45, 0),
                                   left_ear=(0.02, -0.65, 0), right_ear=(-0.02, -0.65, 0))
    reasons = judge(boxes, world, detected, NAMES)
    assert all("shoulders 0.04 m apart" in reason and "head 0.04 m wide" in reason for reason in reasons)


def test_low_presence_is_rejected_and_a_pose_left_alone_by_it_too():
    boxes, world, detected = poses(6)
    boxes[[1, 3], 4] = 0.6
    reasons = judge(boxes, world, detected, NAMES)
    assert "presence 0.60" in reasons[1] and "presence 0.60" in reasons[3]
    assert "alone" in reasons[0] and "alone" in reasons[2]  # no person beside them
    assert reasons[4] == reasons[5] == ""


def test_frames_without_a_pose_and_models_without_3d_points_are_not_judged():
    boxes, world, detected = poses(4)
    detected[0] = False
    assert judge(boxes, world, detected, NAMES) == ["", "", "", ""]
    assert judge(boxes, None, np.ones(4, bool), NAMES) == ["", "", "", ""]


def test_a_track_the_pose_model_ended_is_recorded_with_its_reason():
    """BlazePose ends a track no detection supports (at a scene cut, or at its regular re-check): that frame has no
    pose, and its record says why; a frame with a person keeps its own verdict."""
    boxes, world, detected = poses(6)
    for points in (boxes, world):
        points[2:4] = np.nan
    detected[2:4] = False
    ended = np.array([0, 0, 1, 2, 0, 0], np.int8)
    reasons = judge(boxes, world, detected, NAMES, ended)
    assert reasons[:2] == reasons[4:] == ["", ""]
    assert "scene cut" in reasons[2] and "re-check" in reasons[3] and "no person detected" in reasons[3]
    # models without 3D points are not judged by anatomy, but their ended tracks are still said
    assert judge(boxes, None, detected, NAMES, ended)[2] == reasons[2]
    assert judge(boxes, world, detected, NAMES, np.ones(6, np.int8))[:2] == ["", ""]  # found: no track-ended reason
