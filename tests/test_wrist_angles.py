"""The wrist's bend (pipeline/viewpoint.py, pipeline/angles.py) on synthetic skeletons whose hand points have the depth
noise BlazePose's have: a straight wrist must not read bent, a bent one must still read its bend.

The worker is seen from their left side (camera axes: x right, y down, z away; the worker faces +x), so a forearm held
forward lies across the picture; the image is the points projected straight onto x, y (400 pixels a metre).
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import ergonomics as E
from pipeline.angles import AngleSettings, CameraTilt, compute_world_angles
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS
from pipeline.viewpoint import WRIST_FOREARM_LIMIT, forearm_tilts, in_picture, measured_angles

NAMES = list(BLAZEPOSE_KEYPOINTS)
SETTINGS = AngleSettings()
LEVEL = CameraTilt(0.0, 0.0, "given")
FRAMES = 120
#: Metres of depth noise on the model's hand points (their depth is the model's poorest), and a little on every
#: point across the picture.
HAND_DEPTH_NOISE, POINT_NOISE = 0.02, 0.002


def _worker(bend: float = 0.0, forearm_out: float = 0.0) -> dict[str, np.ndarray]:
    """Seen from the left: both forearms held forward, pointing ``forearm_out`` degrees out of the picture (towards the
    camera), each hand bent ``bend`` degrees down (flexion) from its forearm's line, about the knuckles' axis."""
    out, b = np.radians(forearm_out), np.radians(bend)
    forearm = np.array([np.cos(out), 0.0, -np.sin(out)])
    down = np.array([0.0, 1.0, 0.0])
    hand = np.cos(b) * forearm + np.sin(b) * down
    knuckles = np.cross(forearm, down)  # across the hand, square to the bend's plane
    body = {"left_hip": [0.0, 0.0, -0.1], "right_hip": [0.0, 0.0, 0.1], "left_shoulder": [0.0, -0.5, -0.18],
            "right_shoulder": [0.0, -0.5, 0.18], "left_ear": [0.02, -0.68, -0.07], "right_ear": [0.02, -0.68, 0.07],
            "nose": [0.12, -0.66, 0.0], "left_knee": [0.0, 0.45, -0.1], "right_knee": [0.0, 0.45, 0.1],
            "left_ankle": [0.0, 0.9, -0.1], "right_ankle": [0.0, 0.9, 0.1]}
    points = {name: np.array(point) for name, point in body.items()}
    for side, across in (("left", -0.2), ("right", 0.2)):
        elbow = np.array([0.0, -0.22, across])
        wrist = elbow + 0.25 * forearm
        middle = wrist + 0.08 * hand
        points.update({f"{side}_elbow": elbow, f"{side}_wrist": wrist,
                       f"{side}_index": middle + 0.02 * knuckles, f"{side}_pinky": middle - 0.02 * knuckles})
    return points


def _filmed(body: dict[str, np.ndarray], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(FRAMES, k, 3) world points with the model's noise, and the image keypoints (pixels, confidence 1)."""
    rng = np.random.default_rng(seed)
    world = np.full((FRAMES, len(NAMES), 3), np.nan)
    for name, point in body.items():
        world[:, NAMES.index(name)] = point
    world[..., :2] += rng.normal(0.0, POINT_NOISE, world[..., :2].shape)
    hands = [NAMES.index(f"{side}_{point}") for side in ("left", "right") for point in ("index", "pinky")]
    world[:, hands, 2] += rng.normal(0.0, HAND_DEPTH_NOISE, (FRAMES, len(hands)))
    seen = np.isfinite(world).all(-1)
    image = np.concatenate([500 + 400 * world[..., :2], seen[..., None].astype(float)], axis=-1)
    return world, np.nan_to_num(image)


def _wrists(world: np.ndarray, image: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, dict[str, int]]]:
    angles, sources = measured_angles(world, image, NAMES, SETTINGS, LEVEL)
    return {side: angles[f"wrist_{side}"] for side in ("left", "right")}, sources


def test_a_straight_wrist_with_noisy_hand_depth_reads_straight():
    """The hand's depth noise alone bends the 3D wrist out of RULA's neutral band on average (the size of a noisy
    direction's angle is never negative); the image, across which the forearm lies, sees the straight line it is."""
    world, image = _filmed(_worker())
    deep = compute_world_angles(world, image, NAMES, SETTINGS, LEVEL)
    assert np.mean(deep["wrist_left"]) > 5.0  # what the 3D points alone would score
    wrists, sources = _wrists(world, image)
    for side in ("left", "right"):
        assert np.mean(wrists[side]) < 2.0 and np.percentile(wrists[side], 95) < 5.0
        assert sources[f"wrist_{side}"] == {"3d": 0, "2d": FRAMES, "2d_in_picture": FRAMES}


@pytest.mark.parametrize("bend", [10.0, 30.0, 50.0])
def test_a_bent_wrist_still_reads_its_bend(bend):
    world, image = _filmed(_worker(bend), seed=1)
    wrists, _ = _wrists(world, image)
    for side in ("left", "right"):
        assert np.median(wrists[side]) == pytest.approx(bend, abs=2.0)


def test_a_forearm_pointing_at_the_camera_keeps_the_3d_wrist():
    """Seen end-on, the forearm is a short stub in the picture and the image's angle at the wrist means nothing: the
    3D points' bend stands, and the sources say so."""
    world, image = _filmed(_worker(30.0, forearm_out=75.0), seed=2)
    wrists, sources = _wrists(world, image)
    deep = compute_world_angles(world, image, NAMES, SETTINGS, LEVEL)
    assert sources["wrist_right"] == {"3d": FRAMES, "2d": 0, "2d_in_picture": 0}
    np.testing.assert_allclose(np.median(wrists["right"]), np.median(deep["wrist_right"]), atol=5.0)


@pytest.mark.parametrize("forearm_out", [0.0, 30.0, 60.0, 80.0])
def test_the_wrist_is_the_images_while_the_forearm_lies_across_the_picture(forearm_out):
    world, image = _filmed(_worker(20.0, forearm_out), seed=3)
    np.testing.assert_allclose(forearm_tilts(world, image, NAMES, SETTINGS)["wrist_left"], forearm_out, atol=4.0)
    chosen = in_picture(world, image, NAMES, SETTINGS)["wrist_left"]
    assert chosen.all() == (forearm_out < WRIST_FOREARM_LIMIT) and chosen.any() == chosen.all()


def test_an_unseen_hand_has_no_wrist_angle():
    body = _worker()
    del body["left_index"], body["left_pinky"]
    wrists, sources = _wrists(*_filmed(body))
    assert np.isnan(wrists["left"]).all() and sources["wrist_left"] == {"3d": 0, "2d": 0, "2d_in_picture": 0}


@pytest.mark.parametrize(("bend", "rula", "reba"), [(0.0, 1, 1), (5.0, 1, 1), (5.5, 2, 1), (-5.5, 2, 1), (15.0, 2, 1),
                                                    (15.5, 3, 2), (-40.0, 3, 2)])
def test_the_wrist_bands_are_the_worksheets(bend, rula, reba):
    """RULA: neutral within 5 degrees (the tolerance), up to 15 slightly bent, beyond 15 bent; REBA: bent beyond 15,
    either way (``shared/reference/ergonomics.md``)."""
    assert E.rula_wrist_base(bend) == rula and E.reba_wrist_base(bend) == reba


def test_the_wrist_benchmark_tells_the_3d_bias_from_the_image():
    """``benchmarks/wrist_accuracy.py`` on a synthetic camera: a straight wrist whose hand depth is noisy, against a
    reference that knows it straight; the 3D way shows the bias, the analysis' way (the image's) does not."""
    from types import SimpleNamespace

    from benchmarks.wrist_accuracy import camera_report

    world, image = _filmed(_worker(), seed=4)
    times = np.arange(FRAMES) / 30.0
    angles, _ = measured_angles(world, image, NAMES, SETTINGS, LEVEL)
    result = SimpleNamespace(keypoints=image, world_keypoints=world, keypoint_names=NAMES, detected=np.ones(FRAMES, bool),
                             timestamps=times, angles=angles)
    truth = {"angles": {**angles, "wrist_left": np.zeros(FRAMES), "wrist_right": np.zeros(FRAMES)}}
    report = camera_report(result, truth)
    assert report["3d"]["bias"]["wrist_left"] > 5.0 and report["3d"]["mae_p95"][0] > 5.0
    assert report["analysis"]["mae_p95"][0] < 2.0 and abs(report["analysis"]["bias"]["wrist_left"]) < 2.0
    assert report["analysis"]["rula_wrist_equal"] > report["3d"]["rula_wrist_equal"]
    assert report["errors_by_tilt"]["0-15"]["frames"] == 2 * FRAMES  # both forearms lie across the picture
