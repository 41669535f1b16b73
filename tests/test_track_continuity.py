"""A worker does not jump across the picture, or change size, between two frames (pipeline/continuity.py): on
synthetic tracks at each preset's rate, on a real clip where the tracker switches from one person to another, and on
the labelled real footage and a parity clip, which must lose no frame to it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.continuity import MOVE_BODIES, MOVE_BODIES_PER_S, body, continuity_reasons, limits
from pipeline.plausibility import judge
from pipeline.pose.blazepose import BlazePose
from pipeline.presets import PRESETS
from tests.helpers import fetch_clip
from tests.test_plausibility import poses

NAMES = BlazePose.keypoint_names
DATA = Path(__file__).parent / "data"
#: A torso in the picture, pixels (x right, y down) around its centre: its diagonal is 100 px.
TORSO = {"left_shoulder": (40.0, -40.0), "right_shoulder": (-40.0, -40.0), "left_hip": (20.0, 40.0), "right_hip": (-20.0, 40.0)}
DIAGONAL = float(np.hypot(60.0, 80.0))


def track(centres: np.ndarray, scales: np.ndarray | None = None, jitter: float = 0.0) -> np.ndarray:
    """Image keypoints (n, 33, 3) of a torso at ``centres`` (n, 2), ``scales`` times its size, with the landmarks'
    own noise (``jitter`` pixels, seeded)."""
    scales = np.ones(len(centres)) if scales is None else scales
    keypoints = np.full((len(centres), len(NAMES), 3), np.nan, np.float32)
    noise = np.random.default_rng(7).normal(0, jitter, (len(centres), len(TORSO), 2)) if jitter else np.zeros((len(centres), len(TORSO), 2))
    for position, (name, offset) in enumerate(TORSO.items()):
        keypoints[:, NAMES.index(name), :2] = centres + scales[:, None] * np.array(offset) + noise[:, position]
        keypoints[:, NAMES.index(name), 2] = 0.99
    return keypoints


def walking(fps: float, seconds: float, bodies_per_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Times and centres of a person walking across the picture at ``bodies_per_s`` body sizes a second."""
    times = np.arange(0, seconds, 1 / fps)
    return times, np.stack([100 + bodies_per_s * DIAGONAL * times, np.full(len(times), 300.0)], axis=1)


def reasons(keypoints: np.ndarray, times: np.ndarray, cuts: np.ndarray | None = None) -> list[str]:
    return continuity_reasons(keypoints, NAMES, times, np.ones(len(times), bool), cuts)


def test_the_body_is_measured_by_its_torso_diagonal_around_its_centre():
    found = body(track(np.array([[200.0, 300.0]]), np.array([1.5])), NAMES)
    assert found.centre[0].tolist() == [200.0, 300.0] and found.size[0] == pytest.approx(1.5 * DIAGONAL)
    assert body(track(np.zeros((1, 2))), ("nose",)) is None  # a model without a torso is not judged


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_worker_walking_briskly_across_the_picture_is_one_person_at_every_preset(preset):
    """Measured: a woman walking across Sports2D's demo moves 2.5 body sizes a second; here 3.5, with the landmarks'
    jitter, and a person growing 1.3 times a second (walking towards the camera)."""
    fps = PRESETS[preset].sample_fps
    times, centres = walking(fps, 4.0, 3.5)
    assert reasons(track(centres, jitter=3.0), times) == [""] * len(times)
    assert reasons(track(centres, 1.3 ** times), times) == [""] * len(times)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_switch_to_another_person_is_caught_at_every_preset_and_the_shorter_track_rejected(preset):
    """The track jumps from the worker to someone six body sizes away (two people standing apart, the tracker
    re-detecting the other one) for a third of the clip: those frames are not the worker's, and say why."""
    fps = PRESETS[preset].sample_fps
    times = np.arange(0, 6.0, 1 / fps)
    centres = np.tile([200.0, 300.0], (len(times), 1))
    other = (times >= 2.0) & (times < 4.0)
    centres[other, 0] += 6 * DIAGONAL
    said = reasons(track(centres), times)
    assert [bool(reason) for reason in said] == other.tolist()
    assert all("another person than the worker" in reason and "jumped to it at 2.00 s" in reason and "body sizes across the picture" in reason
               for reason in np.array(said)[other])


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_switch_to_a_person_of_another_size_in_the_same_place_is_caught(preset):
    """Someone nearer the camera, where the worker stood: the size jumps 2.5 times between two frames."""
    fps = PRESETS[preset].sample_fps
    times = np.arange(0, 4.0, 1 / fps)
    scales = np.where(times >= 3.0, 2.5, 1.0)
    said = reasons(track(np.tile([200.0, 300.0], (len(times), 1)), scales), times)
    assert [bool(reason) for reason in said] == (times >= 3.0).tolist()
    assert "changed size 2.5 times" in said[-1]


def test_the_first_segment_rejected_says_which_jump_ended_it():
    times = np.arange(0, 3.0, 0.2)
    centres = np.tile([200.0, 300.0], (len(times), 1))
    centres[times < 1.0, 0] += 8 * DIAGONAL
    said = reasons(track(centres), times)
    assert all("jumped from it at 1.00 s" in reason for reason in said[:5]) and said[5:] == [""] * (len(times) - 5)


def test_a_track_that_comes_back_to_the_worker_keeps_both_stretches():
    """Worker, someone else, the worker again where they were: only the middle is rejected."""
    times = np.arange(0, 5.0, 0.2)
    centres = np.tile([200.0, 300.0], (len(times), 1))
    other = (times >= 2.0) & (times < 3.0)
    centres[other] += [5 * DIAGONAL, 0]
    assert [bool(reason) for reason in reasons(track(centres), times)] == other.tolist()


def test_a_jump_at_a_scene_cut_is_a_new_shot_not_another_person():
    """An edited video may show the worker anywhere after a cut: the rule holds within a shot."""
    times = np.arange(0, 4.0, 0.5)
    centres = np.tile([200.0, 300.0], (len(times), 1))
    centres[4:, 0] += 6 * DIAGONAL
    cuts = np.zeros(len(times), bool)
    cuts[4] = True
    assert reasons(track(centres), times, cuts) == [""] * len(times)
    assert sum(bool(reason) for reason in reasons(track(centres), times)) == 4  # without the cut, a jump


def test_the_limits_grow_with_the_time_between_frames_and_frames_without_a_pose_are_skipped():
    assert limits(0.0)[0] == MOVE_BODIES and limits(2.0)[0] == MOVE_BODIES + 2 * MOVE_BODIES_PER_S
    times = np.arange(0, 6.0, 0.5)
    centres = np.tile([200.0, 300.0], (len(times), 1))
    centres[8:, 0] += 4 * DIAGONAL  # after 2 s without anyone: within reach of a walking worker
    accepted = np.ones(len(times), bool)
    accepted[4:8] = False
    assert continuity_reasons(track(centres), NAMES, times, accepted, None) == [""] * len(times)


def test_judge_applies_the_rule_to_models_with_3d_points_on_top_of_anatomy():
    boxes, world, detected = poses(10)
    times = np.arange(10) * 0.5
    centres = np.tile([200.0, 300.0], (10, 1))
    centres[7:, 0] += 6 * DIAGONAL
    keypoints = track(centres)
    said = judge(boxes, world, detected, NAMES, keypoints=keypoints, times=times)
    assert said[:7] == [""] * 7 and all("another person" in reason for reason in said[7:])
    assert judge(boxes, None, detected, NAMES, keypoints=keypoints, times=times) == [""] * 10  # keypointrcnn: not judged here
    boxes[2, 4] = 0.5  # a frame already rejected keeps its own reason
    assert "presence" in judge(boxes, world, detected, NAMES, keypoints=keypoints, times=times)[2]


def test_a_checkpoint_keeps_the_scene_cuts():
    """A resumed analysis knows where the shots changed in the chunks analysed before it."""
    from pipeline.analysis import ChunkResult
    from pipeline.pose.base import PoseOutput

    pose = PoseOutput.empty(3, 1, len(NAMES), world=True)
    pose.cuts = np.array([False, True, False])
    assert ChunkResult.from_bytes(ChunkResult(0, np.arange(3), pose).to_bytes()).pose.cuts.tolist() == [False, True, False]


def analysed(path: Path, model, preset: str):
    from pipeline.analysis import AnalysisOptions, analyze_video
    from pipeline.presets import get_preset

    return analyze_video(path, model, AnalysisOptions(get_preset(preset)))


def switched(result) -> np.ndarray:
    return np.array(["another person than the worker" in reason for reason in result.rejections])


def test_a_real_switch_between_two_people_is_caught(one_thread_blazepose, tmp_path):
    """Sports2D's demo: a man balancing on a utility box high in the picture, a woman walking past below him.  At
    ``medium`` the tracker follows the man (frames 18-60), loses him at the 2 s re-check and picks up the woman
    (from frame 78, 5.5 body sizes away), then someone entering on the right (frame 216).  Measured: the woman is
    followed longest (21 frames) and kept; the man's 8 frames and the newcomer's 2 report no person, saying why."""
    labels = json.loads((DATA / "real_sports2d_faces.json").read_text())
    result = analysed(fetch_clip(labels, tmp_path), one_thread_blazepose, "medium")
    other = switched(result)
    assert other.sum() >= 5 and result.detected.sum() >= 15
    assert not result.detected[other].any() and np.isnan(result.keypoints[other]).all()
    assert all(np.isnan(values[other]).all() for values in result.angles.values())  # no angle bridged onto them
    found = body(result.keypoints, tuple(result.keypoint_names))
    kept = np.flatnonzero(result.detected)
    assert (found.centre[kept, 1] > 300).all()  # every frame kept is the woman walking along the path below the box
    assert set(result.frame_indices[other].tolist()) >= {18, 60}  # the man on the box


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("clip", ["bikes", "carphone"])
def test_the_labelled_real_footage_loses_no_frame(one_thread_blazepose, tmp_path, clip, preset):
    """One person per shot: the rule rejects nothing (measured, benchmarks/track_continuity.py: the largest change
    between frames used at most 0.31 of the limits)."""
    labels = json.loads((DATA / f"real_{clip}.json").read_text())
    result = analysed(fetch_clip(labels, tmp_path), one_thread_blazepose, preset)
    assert not switched(result).any()


def test_the_parity_clip_of_two_people_loses_no_frame(one_thread_blazepose, tmp_path):
    """The demo's person with a smaller one beside them: the tracker keeps to the first, and MediaPipe-parity frames
    are untouched by the rule."""
    from benchmarks import pose_parity

    result = analysed(pose_parity.make_clip(tmp_path / "two_people.mp4", "two_people"), one_thread_blazepose, "low")
    assert not switched(result).any() and result.detected.sum() >= 25
