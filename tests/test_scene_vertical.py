"""Gravity's vertical from the scene's lines (pipeline/scene_vertical.py) and how it joins the stance's
(pipeline/angles.py: camera_tilt): rendered rooms with known pitch and roll, and the rules that keep the stance."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from pipeline.analysis import ChunkResult
from pipeline.angles import SCENE_MAX_DISAGREEMENT, AngleSettings, CameraTilt, camera_tilt, stance_tilt
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS
from pipeline.result_model import CameraTiltRecord
from pipeline.scene_vertical import ASSUMED_FOCAL, SceneVertical, frame_lines, scene_vertical

WIDTH, HEIGHT = 540, 960


def render_room(pitch: float, roll: float, focal: float, seed: int = 1) -> np.ndarray:
    """A grey picture of a room's edges seen by a camera pitched and rolled by the given angles: 14 vertical edges
    (door frames, shelves) and as many horizontal ones (the floor's and the shelves' boards, which must not vote)."""
    rng = np.random.default_rng(seed)
    down = CameraTilt(pitch, roll, "given").down
    across = np.cross(down, [0.0, 0.0, 1.0])
    across /= np.linalg.norm(across)
    image = np.full((HEIGHT, WIDTH), 60, np.uint8)
    for direction in [down] * 14 + [across] * 8 + [np.cross(down, across)] * 6:
        start = np.array([rng.uniform(-2.5, 2.5), rng.uniform(-3.0, 3.0), rng.uniform(4.0, 9.0)])
        ends = np.array([start, start + rng.uniform(1.0, 2.0) * direction])
        if (ends[:, 2] < 0.5).any():
            continue
        pixels = ends[:, :2] / ends[:, 2:] * focal + [WIDTH / 2, HEIGHT / 2]
        cv2.line(image, tuple(int(v) for v in pixels[0]), tuple(int(v) for v in pixels[1]), 220, 3, cv2.LINE_AA)
    return image


def seen(pitch: float, roll: float, focal: float, boxes: np.ndarray | None = None) -> CameraTilt:
    lines = np.concatenate([frame_lines(render_room(pitch, roll, focal, seed), np.zeros((0, 5)) if boxes is None else boxes)
                            for seed in (1, 2, 3)])
    scene = scene_vertical(lines, WIDTH, HEIGHT)
    assert scene is not None
    return CameraTilt.from_down(scene.down, "scene", lines=scene.lines)


@pytest.mark.parametrize(("pitch", "roll"), [(0.0, 0.0), (20.0, -3.0), (25.0, 15.0), (-10.0, -20.0)])
def test_a_rendered_rooms_vertical_is_found(pitch, roll):
    """With the focal length assumed right, pitch and roll within a degree; the floor's lines do not vote."""
    found = seen(pitch, roll, ASSUMED_FOCAL * HEIGHT)
    assert abs(found.pitch - pitch) < 1.0 and abs(found.roll - roll) < 1.0, found
    assert found.lines >= 20


def test_a_wrong_focal_length_costs_only_pitch_as_the_docs_say():
    """A lens 25% longer than assumed: the roll is unchanged, the pitch reads atan(tan p / 1.25) (25 reads 20.5)."""
    found = seen(25.0, 12.0, 1.25 * ASSUMED_FOCAL * HEIGHT)
    assert abs(found.roll - 12.0) < 1.0
    assert abs(found.pitch - np.degrees(np.arctan(np.tan(np.radians(25.0)) / 1.25))) < 1.0


def test_lines_in_the_workers_box_do_not_vote():
    everything = frame_lines(render_room(20.0, 5.0, ASSUMED_FOCAL * HEIGHT), np.zeros((0, 5)))
    box = np.array([[100.0, 200.0, 400.0, 800.0, 1.0], [np.nan] * 5])
    outside = frame_lines(render_room(20.0, 5.0, ASSUMED_FOCAL * HEIGHT), box)
    assert 0 < len(outside) < len(everything)
    middles = (outside[:, :2] + outside[:, 2:]) / 2
    assert not ((middles[:, 0] > 100) & (middles[:, 0] < 400) & (middles[:, 1] > 200) & (middles[:, 1] < 800)).any()


def test_a_picture_without_lines_gives_no_vertical():
    assert scene_vertical(frame_lines(np.full((HEIGHT, WIDTH, 3), 90, np.uint8), np.zeros((0, 5))), WIDTH, HEIGHT) is None


def standing(down: np.ndarray, frames: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """World points and visible keypoints of a worker standing along ``down`` (straight legs): the stance finds it."""
    world = np.zeros((frames, len(BLAZEPOSE_KEYPOINTS), 3))
    heights = {"hip": -0.9, "knee": -0.45, "ankle": 0.0, "shoulder": -1.4}
    for i, name in enumerate(BLAZEPOSE_KEYPOINTS):
        part = name.split("_")[-1]
        side = -0.1 if name.startswith("left") else 0.1
        world[:, i] = np.array([side, 0.0, 0.0]) + down * heights.get(part, -1.5) + np.linspace(-0.002, 0.002, frames)[:, None]
    keypoints = np.ones((frames, len(BLAZEPOSE_KEYPOINTS), 3))
    return world, keypoints


def scene_at(pitch: float, roll: float, lines: int = 40) -> SceneVertical:
    return SceneVertical(CameraTilt(pitch, roll, "scene").down, lines, 3.0, 0.3, 0.5, 0.2)


def test_trusted_lines_set_the_roll_and_share_the_pitch_with_a_trusted_stance():
    world, keypoints = standing(CameraTilt(20.0, 15.0, "given").down)
    assert stance_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS).confidence == "high"
    tilt = camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, AngleSettings(), scene_at(24.0, -3.0))
    assert tilt.method == "scene+stance" and tilt.confidence == "high" and tilt.lines == 40
    assert abs(tilt.roll - -3.0) < 0.5 and abs(tilt.pitch - 22.0) < 0.5


def test_the_stance_stays_where_the_lines_are_few_wander_or_contradict_it():
    world, keypoints = standing(CameraTilt(20.0, 5.0, "given").down)
    stance = stance_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS)
    far = 20.0 - SCENE_MAX_DISAGREEMENT - 5.0
    for scene in (scene_at(24.0, -3.0, lines=8), replace(scene_at(24.0, -3.0), pitch_sd=10.0), scene_at(far, 5.0), None):
        tilt = camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, AngleSettings(), scene)
        assert (tilt.method, tilt.pitch, tilt.roll) == (stance.method, stance.pitch, stance.roll), scene
    switched_off = camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, AngleSettings(scene_vertical=False), scene_at(24.0, -3.0))
    assert switched_off.method == "stance"


def test_lines_alone_set_the_vertical_where_the_stance_is_not_trusted():
    world, keypoints = standing(CameraTilt(20.0, 5.0, "given").down, frames=3)  # too few frames: no stance
    tilt = camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, AngleSettings(), scene_at(24.0, -3.0))
    assert tilt.method == "scene" and abs(tilt.pitch - 24.0) < 0.1 and tilt.uncertainty == 0.0


def test_a_given_angle_still_wins():
    world, keypoints = standing(CameraTilt(20.0, 5.0, "given").down)
    given = AngleSettings(camera_pitch=10.0, camera_roll=1.0)
    assert camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, given, scene_at(24.0, -3.0)).method == "given"


def test_a_chunks_lines_survive_its_checkpoint_and_old_checkpoints_load():
    lines = np.array([[1, 2, 3, 40], [5, 6, 7, 80]], np.float32)
    chunk = ChunkResult(0, np.arange(3), None, scene_lines=lines)
    assert np.array_equal(ChunkResult.from_bytes(chunk.to_bytes()).scene_lines, lines)
    assert ChunkResult.from_bytes(ChunkResult(1, np.arange(3), None).to_bytes()).scene_lines.shape == (0, 4)


def test_results_recorded_before_the_lines_still_load():
    old = {"pitch": 10.0, "roll": 1.0, "method": "stance", "confidence": "high", "frames": 12, "spread": 4.0, "uncertainty": 0.0}
    assert CameraTiltRecord.model_validate(old).lines == 0


def test_a_rescore_finds_the_same_vertical_without_the_video():
    """The lines' own tilt is recorded where they were trusted; rebuilt from the record, the same tilt comes out."""
    from pipeline.rescore import stored_scene

    world, keypoints = standing(CameraTilt(20.0, 15.0, "given").down)
    tilt = camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, AngleSettings(), scene_at(24.0, -3.0))
    record = CameraTiltRecord.model_validate(tilt.as_dict())

    stored = SimpleNamespace(inputs=SimpleNamespace(camera_tilt=record))
    again = camera_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS, AngleSettings(), stored_scene(stored))
    assert (again.method, round(again.pitch, 1), round(again.roll, 1)) == (tilt.method, round(tilt.pitch, 1), round(tilt.roll, 1))
    assert stored_scene(stored) is not None and CameraTiltRecord.model_validate(stance_tilt(world, keypoints, BLAZEPOSE_KEYPOINTS).as_dict()).scene_pitch is None
