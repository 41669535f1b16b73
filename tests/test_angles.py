"""Angles from synthetic skeletons with known geometry, including every sign convention."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.angles import AngleSettings, clean_angles, compute_angles, fill_short_gaps, missing_spans, savitzky_golay
from pipeline.pose import COCO_KEYPOINTS

TORSO = 100.0


def _rotate(vector, degrees_towards_forward, facing):
    """Turn an image vector by an angle; positive turns 'up' towards the facing side (+x or -x)."""
    a = math.radians(degrees_towards_forward) * facing
    x, y = vector
    return np.array([x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a)])


def skeleton(*, trunk=0.0, neck=0.0, arm=0.0, elbow=0.0, knee=0.0, facing=1, frontal=False, drop=()):
    """A side-view (or frontal) person with the given angles, as one frame of COCO keypoints."""
    hip = np.array([300.0, 400.0])
    up = _rotate((0.0, -1.0), trunk, facing)  # unit vector along the trunk
    shoulder = hip + TORSO * up
    head_dir = _rotate(up, neck, facing)
    ear = shoulder + 30 * head_dir
    forward = _rotate(up, 90, facing)
    nose = ear + 12 * forward
    arm_dir = _rotate(-up, arm, -facing)  # from hanging along the trunk towards the front
    elbow_pt = shoulder + 40 * arm_dir
    forearm = _rotate(arm_dir, elbow, -facing)
    wrist = elbow_pt + 35 * forearm
    thigh = np.array([0.0, 1.0])
    knee_pt = hip + 60 * thigh
    shin = _rotate(thigh, knee, facing)
    ankle = knee_pt + 55 * shin
    spread = np.array([25.0, 0.0]) if frontal else np.zeros(2)
    points = {
        "nose": nose if not frontal else (ear + np.array([0.0, 5.0])), "left_eye": nose, "right_eye": nose,
        "left_ear": ear - spread, "right_ear": ear + spread, "left_shoulder": shoulder - spread,
        "right_shoulder": shoulder + spread, "left_elbow": elbow_pt - spread, "right_elbow": elbow_pt + spread,
        "left_wrist": wrist - spread, "right_wrist": wrist + spread, "left_hip": hip - spread, "right_hip": hip + spread,
        "left_knee": knee_pt - spread, "right_knee": knee_pt + spread, "left_ankle": ankle - spread,
        "right_ankle": ankle + spread,
    }
    frame = np.zeros((len(COCO_KEYPOINTS), 3), np.float32)
    for i, name in enumerate(COCO_KEYPOINTS):
        frame[i, :2] = points[name]
        frame[i, 2] = 0.0 if name in drop else 0.9
    return frame


def angles_of(**pose):
    return {name: float(values[0]) for name, values in compute_angles(skeleton(**pose)[None], COCO_KEYPOINTS).items()}


@pytest.mark.parametrize("facing", [1, -1])
def test_upright_neutral_posture_is_zero(facing):
    a = angles_of(facing=facing)
    for name in ("trunk_flexion", "neck_flexion", "upper_arm_left", "elbow_left", "knee_left"):
        assert a[name] == pytest.approx(0.0, abs=1e-3), name


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize("trunk", [-20.0, 15.0, 45.0, 80.0])
def test_trunk_flexion_is_signed_towards_the_front(facing, trunk):
    assert angles_of(trunk=trunk, facing=facing)["trunk_flexion"] == pytest.approx(trunk, abs=1e-3)


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize("neck", [-15.0, 10.0, 30.0])
def test_neck_flexion_is_relative_to_the_trunk(facing, neck):
    a = angles_of(trunk=30.0, neck=neck, facing=facing)
    assert a["neck_flexion"] == pytest.approx(neck, abs=1e-3)


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize("arm", [-30.0, 45.0, 90.0, 120.0])
def test_upper_arm_flexion_from_hanging_along_the_trunk(facing, arm):
    a = angles_of(arm=arm, trunk=20.0, facing=facing)
    assert a["upper_arm_left"] == pytest.approx(arm, abs=1e-3)
    assert a["upper_arm_right"] == pytest.approx(arm, abs=1e-3)


@pytest.mark.parametrize("bend", [0.0, 45.0, 90.0, 130.0])
def test_elbow_and_knee_flexion_are_zero_when_straight(bend):
    a = angles_of(elbow=bend, knee=bend)
    assert a["elbow_left"] == pytest.approx(bend, abs=1e-3)
    assert a["knee_right"] == pytest.approx(bend, abs=1e-3)


def test_frontal_view_reports_magnitudes():
    a = angles_of(trunk=-20.0, frontal=True)
    assert a["trunk_flexion"] == pytest.approx(20.0, abs=1e-3)


def test_missing_keypoints_give_nan_not_zero():
    a = angles_of(drop=("left_elbow", "left_ear", "right_ear"))
    assert math.isnan(a["upper_arm_left"]) and math.isnan(a["elbow_left"]) and math.isnan(a["neck_flexion"])
    assert not math.isnan(a["upper_arm_right"])
    nobody = np.full((1, len(COCO_KEYPOINTS), 3), np.nan, np.float32)
    assert all(math.isnan(v[0]) for v in compute_angles(nobody, COCO_KEYPOINTS).values())


def test_low_confidence_points_count_as_missing():
    frame = skeleton()
    frame[COCO_KEYPOINTS.index("left_knee"), 2] = 0.1
    a = compute_angles(frame[None], COCO_KEYPOINTS, AngleSettings(min_confidence=0.3))
    assert math.isnan(a["knee_left"][0]) and not math.isnan(a["knee_right"][0])


def test_short_gaps_are_interpolated_and_long_gaps_kept():
    times = np.arange(12) * 0.2
    series = np.array([0, 1, np.nan, 3, 4, np.nan, np.nan, np.nan, np.nan, 9, 10, 11], float)
    filled = fill_short_gaps(series, times, max_gap_s=0.5)
    assert filled[2] == pytest.approx(2.0)
    assert np.isnan(filled[5:9]).all()  # 1.0 s between measurements: too long to invent


def test_savitzky_golay_keeps_trends_and_removes_jitter():
    t = np.arange(60, dtype=float)
    ramp = 0.5 * t + 3
    assert np.allclose(savitzky_golay(ramp, 7, 2), ramp)  # polynomials of the filter's order pass unchanged
    noisy = ramp + np.random.default_rng(1).normal(0, 2, len(t))
    assert np.std(savitzky_golay(noisy, 9, 2)[5:-5] - ramp[5:-5]) < 0.7 * np.std(noisy - ramp)
    with_gap = noisy.copy()
    with_gap[30] = np.nan
    assert np.isnan(savitzky_golay(with_gap, 9, 2)[30])


def test_clean_angles_smooths_only_when_asked():
    times = np.arange(20) * 0.1
    series = {"trunk_flexion": np.where(np.arange(20) % 2, 10.0, 14.0)}
    assert np.array_equal(clean_angles(series, times, AngleSettings())["trunk_flexion"], series["trunk_flexion"])
    smoothed = clean_angles(series, times, AngleSettings(smoothing_window_s=0.5))["trunk_flexion"]
    assert np.ptp(smoothed[3:-3]) < 4.0


def test_missing_spans_report_long_absences():
    present = np.array([1, 1, 0, 0, 0, 0, 0, 1, 0, 1], bool)
    times = np.arange(10) * 0.5
    assert missing_spans(present, times, 1.0) == [(1.0, 3.5)]
