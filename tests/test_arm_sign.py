"""The upper arm's sign (in front of the body or behind it) where only depth tells it, on synthetic skeletons.

Filmed from the front or behind, an arm's front/back component lies along the camera's line of sight; one camera's
depth put an arm raised 23-32 degrees in front 21-31 degrees behind the body on the two-person recording
(``benchmarks/arm_probe.py multi``, cam04).  There the analysis reads the arm's elevation as flexion
(:func:`pipeline.viewpoint.arms_in_front`): the worksheets score both signs alike up to 45 degrees and flexion higher
beyond.  From the side, where front and back lie across the picture, extension stays extension.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.angles import AngleSettings, CameraTilt
from pipeline.ergonomics import UPPER_ARM_NEUTRAL, upper_arm_base
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS
from pipeline.viewpoint import STRAIGHT, arms_in_front, measured_angles
from tests.test_world_angles import world_skeleton

NAMES = list(BLAZEPOSE_KEYPOINTS)
LEVEL = CameraTilt(0.0, 0.0, "given")
#: How far a measured size may be from the true one: near the frontal plane the arm and the trunk span a plane the
#: image reads where it faces the camera within IMAGE_PLANE_LIMIT, which distorts an angle in it by at most 8 degrees
#: (pipeline/viewpoint.py); a nearly straight arm-trunk angle the image can shrink by its own size.  A margin of 1.
DISTORTION = 9.0
#: Azimuths (0 in front, 180 behind) from the front and behind, where only depth tells front from back.
ALONG_SIGHT = (0.0, 30.0, 55.0, 125.0, 135.0, 150.0, 165.0, 180.0)
#: Azimuths about the side, where front and back lie across the picture.
ACROSS = (65.0, 90.0, 115.0)


def _seen(world: np.ndarray) -> np.ndarray:
    """(1, k, 3) image keypoints of (k, 3) world points projected straight onto the picture, all seen."""
    return np.concatenate([500 + 400 * world[None, :, :2], np.full((1, len(world), 1), 0.9)], axis=-1)


def _left_arm(world: np.ndarray) -> float:
    """The left upper arm as the analysis measures it (:func:`pipeline.viewpoint.measured_angles`)."""
    angles, _ = measured_angles(world[None], _seen(world), NAMES, AngleSettings(), LEVEL)
    return float(angles["upper_arm_left"][0])


def _elevation(arm: float, abduct: float) -> float:
    return math.degrees(math.acos(math.cos(math.radians(arm)) * math.cos(math.radians(abduct))))


def _bound(elevation: float) -> float:
    """How far a measured size may be off: :data:`DISTORTION`, or, for an arm nearly along the trunk
    (:data:`pipeline.viewpoint.STRAIGHT`), which the image reads from wherever it lies across the picture, its size."""
    return max(DISTORTION, elevation + 1e-6) if elevation <= STRAIGHT + 1e-6 else DISTORTION


@pytest.mark.parametrize("azimuth", ALONG_SIGHT)
@pytest.mark.parametrize("abduct", [0.0, 20.0, 45.0])
def test_swept_through_the_frontal_plane_from_the_front_or_behind_the_arm_reads_flexion_of_its_size(azimuth, abduct):
    """Forward 60 to back 60 degrees: never negative, and always the arm's elevation (no jump at the plane)."""
    for arm in np.arange(60.0, -60.1, -7.5):
        value = _left_arm(world_skeleton(yaw=azimuth, arm=float(arm), abduct=abduct))
        assert value >= 0.0, (arm, value)
        elevation = _elevation(arm, abduct)
        assert value == pytest.approx(elevation, abs=_bound(elevation)), (arm, value)


@pytest.mark.parametrize("azimuth", ACROSS)
def test_from_the_side_an_arm_clearly_behind_stays_extension(azimuth):
    """About the side the image shows front from back: extension beyond the neutral band is kept, its size too."""
    for arm in (-30.0, -45.0, -60.0):
        assert _left_arm(world_skeleton(yaw=azimuth, arm=arm)) == pytest.approx(arm, abs=DISTORTION), arm
    assert _left_arm(world_skeleton(yaw=azimuth, arm=45.0)) == pytest.approx(45.0, abs=DISTORTION)


@pytest.mark.parametrize("azimuth", [125.0, 145.0, 165.0, 180.0])
def test_a_depth_misread_from_behind_cannot_turn_an_arm_in_front_into_extension(azimuth):
    """The benchmark's miss: an arm raised 25-35 degrees in front, its elbow's depth mirrored about the shoulder's (the
    picture unchanged), as BlazePose read it from behind; the angle stays flexion of about the same size."""
    shoulder, elbow = NAMES.index("left_shoulder"), NAMES.index("left_elbow")
    for arm in (25.0, 30.0, 35.0):
        world = world_skeleton(yaw=azimuth, arm=arm)
        world[elbow, 2] = 2 * world[shoulder, 2] - world[elbow, 2]
        value = _left_arm(world)
        assert value > UPPER_ARM_NEUTRAL and value == pytest.approx(arm, abs=DISTORTION), (arm, value)


def test_read_as_flexion_the_score_is_never_lower():
    """For every elevation, the flexion's RULA/REBA upper-arm score is at least the extension's, and equal up to 45."""
    for elevation in np.arange(0.0, 180.1, 2.5):
        assert upper_arm_base(elevation) >= upper_arm_base(-elevation), elevation
        if elevation <= 45.0:
            assert upper_arm_base(elevation) == upper_arm_base(-elevation), elevation


def test_only_the_upper_arms_change_and_gaps_stay_gaps():
    """arms_in_front touches the upper arms' sign in the frames along the sight, nothing else (a gap stays NaN)."""
    angles = {"upper_arm_left": np.array([-40.0, -40.0, np.nan]), "upper_arm_right": np.array([-30.0, 20.0, -30.0]),
              "trunk_flexion": np.array([-10.0, -10.0, -10.0]), "upper_arm_abduction_left": np.array([-15.0, -15.0, -15.0])}
    turned = arms_in_front(angles, np.array([170.0, 90.0, 10.0]))
    np.testing.assert_array_equal(turned["upper_arm_left"], [40.0, -40.0, np.nan])
    np.testing.assert_array_equal(turned["upper_arm_right"], [30.0, 20.0, 30.0])
    for name in ("trunk_flexion", "upper_arm_abduction_left"):
        np.testing.assert_array_equal(turned[name], angles[name])
