"""The scene's vertical on real footage turned by a known roll (the short version of
``benchmarks/scene_vertical_bench.py``).

Pose2Sim's single-person cam02 (a laboratory's door frames and shelves; fetched from the pinned wheel on PyPI into
``~/.cache/ergo``), four frames at the analysis's size, turned about the centre and cropped alike for every turn.
A camera rolled by ``r`` rolls the lines' vertical by ``-r``: measured within 0.3 degrees at -12 and +6 (the
unturned roll -3.1 against the calibration's -2.6), asserted within 1.5.  Turned -12, -4, +4, +12 over the four
frames, they disagree by 11.7 (median; a still camera 0.1), asserted over 4.  A phone that turns between the frames must not give a trusted vertical, and the picture's own border is no edge
of the scene.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks import accuracy
from benchmarks.scene_vertical_bench import estimate, read_frames
from pipeline.angles import SCENE_TRUSTED_FRAMES_APART
from pipeline.scene_vertical import BORDER, frame_lines

FRAMES, LARGEST = 4, 12.0


@pytest.fixture(scope="module")
def frames():
    return read_frames(accuracy.fetch_demo() / "videos" / "cam02.mp4", FRAMES)


@pytest.fixture(scope="module")
def upright(frames):
    return estimate(frames, 0.0, LARGEST)


def test_the_unturned_clips_lines_give_the_calibrated_roll(upright):
    assert upright["trusted"]
    assert abs(upright["roll"] - -2.6) < 1.5  # the calibration's roll; measured -3.1


@pytest.mark.parametrize("turn", [-LARGEST, 6.0])
def test_a_known_roll_moves_the_lines_roll_by_as_much(frames, upright, turn):
    turned = estimate(frames, turn, LARGEST)
    assert turned["trusted"], turned
    assert abs(turned["roll"] - (upright["roll"] - turn)) < 1.5, turned


def test_a_phone_that_turns_between_frames_gives_no_trusted_vertical(frames):
    turning = estimate(frames, [-LARGEST, -LARGEST / 3, LARGEST / 3, LARGEST], LARGEST)
    assert not turning["trusted"], turning
    assert turning["frames_apart"] > SCENE_TRUSTED_FRAMES_APART, turning


def test_the_pictures_own_border_is_not_read_as_the_scenes_edge():
    """Multi cam01's first column is dark (the encoder's padding): the line detector finds its edge, full height,
    which is the camera's vertical, not gravity's."""
    frame = read_frames(accuracy.fetch_demo(recording="multi") / "videos" / "cam01.mp4", 1)[0]
    margin = BORDER * max(frame.shape[:2])
    raw = cv2.createLineSegmentDetector().detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))[0].reshape(-1, 4)
    assert (raw[:, [0, 2]] < margin).all(axis=1).any()
    kept = frame_lines(frame, np.zeros((0, 4)))
    assert not (kept[:, [0, 2]] < margin).all(axis=1).any()
