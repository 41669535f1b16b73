"""The choice between the image's angle and the 3D points' (pipeline/viewpoint.py), on synthetic skeletons.

A skeleton is placed in the camera's axes (x right, y down, z away) and projected straight onto the picture (x, y):
its image angles are then exactly what a camera square to the plane would see, and the tests turn the body about
the vertical to see which angles the choice reads from the image.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.angles import CameraTilt, compute_angles, compute_world_angles, prefer_3d
from pipeline.viewpoint import (
    IMAGE_PLANE_LIMIT,
    OWN_POINTS,
    azimuths,
    in_picture,
    measured_angles,
    on_image,
    plane_tilts,
    viewpoint,
)
from tests.skeletons import NAMES, SETTINGS, standing, turned


@pytest.mark.parametrize("azimuth", [0.0, 45.0, 90.0, 135.0, 180.0])
def test_the_azimuth_says_from_where_the_camera_sees_the_worker(azimuth):
    world, image = turned(standing(), azimuth)
    np.testing.assert_allclose(azimuths(world, image, NAMES, SETTINGS, None), [azimuth], atol=1e-6)


def test_a_knee_bent_forward_is_read_from_the_image_from_the_side_and_from_3d_from_the_front():
    """From the side the knee bends across the picture; from the front it bends towards the camera, edge-on, where
    the image would see a straight leg."""
    body = standing(knee=60.0)
    side, side_image = turned(body, 90.0)
    front, front_image = turned(body, 0.0)
    assert plane_tilts(side, side_image, NAMES, SETTINGS)["knee_right"][0] == pytest.approx(0.0, abs=1e-6)
    assert plane_tilts(front, front_image, NAMES, SETTINGS)["knee_right"][0] == pytest.approx(90.0, abs=1e-6)
    assert in_picture(side, side_image, NAMES, SETTINGS)["knee_right"][0]
    assert not in_picture(front, front_image, NAMES, SETTINGS)["knee_right"][0]
    # the image from the front would have read it straight: the 3D angle is kept
    assert compute_angles(front_image, NAMES, SETTINGS)["knee_right"][0] == pytest.approx(0.0, abs=1e-6)
    merged, sources = measured_angles(front, front_image, NAMES, SETTINGS, CameraTilt(0.0, 0.0, "given"))
    assert merged["knee_right"][0] == pytest.approx(60.0, abs=1e-6) and sources["knee_right"] == {"3d": 1, "2d": 0, "2d_in_picture": 0}


@pytest.mark.parametrize("azimuth", np.arange(0.0, 181.0, 15.0))
def test_where_the_image_is_chosen_it_is_within_the_projection_bound(azimuth):
    """Whatever the viewpoint, an angle read from the image is its true size to within what a plane turned by the
    limit can distort (8 degrees at 30)."""
    body = standing(knee=50.0, elbow=70.0)
    world, image = turned(body, azimuth)
    flat = compute_angles(image, NAMES, SETTINGS)
    chosen = in_picture(world, image, NAMES, SETTINGS)
    for name, true in (("knee_right", 50.0), ("elbow_right", 70.0)):
        if chosen[name][0]:
            assert abs(flat[name][0] - true) <= 8.5, (name, azimuth)
    if abs(abs(90.0 - azimuth) - IMAGE_PLANE_LIMIT) > 1:  # the knee's plane is the body's sagittal one: square from the side
        assert chosen["knee_right"][0] == (abs(90.0 - azimuth) < IMAGE_PLANE_LIMIT)


def test_a_straight_limb_across_the_picture_is_read_from_the_image_but_not_one_pointing_at_the_camera():
    """A straight leg spans no plane: it is read from the image where it lies across the picture."""
    world, image = turned(standing(), 0.0)
    assert in_picture(world, image, NAMES, SETTINGS)["knee_left"][0]
    pointing = standing()
    pointing["left_knee"], pointing["left_ankle"] = np.array([0.1, 0.05, -0.45]), np.array([0.1, 0.1, -0.9])  # along the axis
    world, image = turned(pointing, 0.0)
    assert not in_picture(world, image, NAMES, SETTINGS)["knee_left"][0]


def test_the_image_gives_the_size_and_3d_the_sign():
    image = {"upper_arm_left": np.array([30.0, 30.0, np.nan, 30.0])}
    world = {"upper_arm_left": np.array([-25.0, 25.0, 20.0, np.nan])}
    seen = {"upper_arm_left": np.array([True, True, True, True])}
    merged, sources = prefer_3d(world, image, seen)
    np.testing.assert_array_equal(merged["upper_arm_left"], [-30.0, 30.0, 20.0, 30.0])
    # frame 2 has no image angle (3D), frame 3 no 3D one (image, but not chosen for the view)
    assert sources["upper_arm_left"] == {"3d": 1, "2d": 3, "2d_in_picture": 2}
    assert prefer_3d(world, image)[1]["upper_arm_left"] == {"3d": 3, "2d": 1, "2d_in_picture": 0}


def test_the_viewpoint_counts_the_frames_of_each_view():
    frames = [turned(standing(), azimuth) for azimuth in (10.0, 20.0, 90.0, 170.0)]
    world, image = (np.concatenate(parts) for parts in zip(*frames))
    seen = viewpoint(world, image, NAMES, SETTINGS, None)
    assert seen.frames == {"front": 2, "oblique_front": 0, "side": 1, "oblique_back": 0, "back": 1}
    assert seen.median_azimuth == pytest.approx(55.0)
    assert viewpoint(None, image, NAMES, SETTINGS, None) is None and in_picture(None, image, NAMES, SETTINGS) == {}


def test_the_3d_points_are_placed_where_the_image_sees_them_keeping_their_depth():
    """The model's x and y miss the image's points by centimetres; placed on the image, they take the image's
    across the picture (scaled to metres) and keep the model's depth."""
    world, image = turned(standing(knee=40.0), 60.0)
    rng = np.random.default_rng(3)
    model = world.copy()
    model[..., :2] += rng.normal(0.0, 0.03, model[..., :2].shape)  # the body model's fit, off by 3 cm
    placed = on_image(model, image, SETTINGS.min_confidence)
    seen = np.isfinite(world).all(-1)
    np.testing.assert_allclose(placed[..., 2][seen], model[..., 2][seen])
    # back on the image's points, up to the centre and scale the fit chooses
    shape = placed[seen][:, :2] - placed[seen][:, :2].mean(0)
    truth = world[seen][:, :2] - world[seen][:, :2].mean(0)
    np.testing.assert_allclose(shape / np.linalg.norm(shape), truth / np.linalg.norm(truth), atol=1e-6)


def test_a_frame_with_too_few_points_seen_keeps_the_models_points():
    world, image = turned(standing(), 0.0)
    image[..., 2] = 0.0
    image[0, :3, 2] = 1.0  # three points seen: no scale to trust
    np.testing.assert_array_equal(on_image(world, image, SETTINGS.min_confidence), world)


def test_the_neck_and_the_trunk_stay_on_the_models_own_points():
    """The image's ears are not one physical point from view to view: the neck is measured on the model's head,
    as the trunk on the points its vertical was estimated from."""
    world, image = turned(standing(knee=40.0), 90.0)
    moved = image.copy()
    for name in ("left_ear", "right_ear", "left_shoulder", "right_shoulder"):
        moved[0, NAMES.index(name), 0] += 40.0  # the image sees head and shoulders elsewhere
    angles, _ = measured_angles(world, moved, NAMES, SETTINGS, CameraTilt(0.0, 0.0, "given"))
    own = compute_world_angles(world, moved, NAMES, SETTINGS, CameraTilt(0.0, 0.0, "given"))
    for name in OWN_POINTS:
        assert angles[name][0] == pytest.approx(own[name][0], abs=1e-9) or np.isnan(own[name][0]), name
    assert angles["knee_right"][0] == pytest.approx(40.0, abs=1e-6)
