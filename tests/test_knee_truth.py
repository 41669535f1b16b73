"""The knee and REBA's legs score on synthetic skeletons with BlazePose-like noise: a straight leg does not read bent,
a bent knee reads its bend from every side, and the legs score takes the more bent knee (or the job's assumption);
and the knee benchmark's counting. Why the knee reads too straight on real footage (BlazePose's depth, not noise and
not the choice between image and 3D) is measured by ``benchmarks/knee_depth.py`` (docs/pipeline.md "The knee and
REBA's legs"), not here: it takes four camera videos through BlazePose.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import knee_depth
from pipeline.angles import CameraTilt
from pipeline.assessment import AssessmentParams, score_frames
from pipeline.ergonomics import KNEE_BENDS, reba_legs
from pipeline.viewpoint import measured_angles
from tests.skeletons import NAMES, SETTINGS, standing, turned

#: Noise like BlazePose's on a person 1.7 m tall filmed whole (pipeline.viewpoint.on_image: its 3D points miss the image's by
#: 3.4-4.6 cm at the median; the image points jitter by about a centimetre): metres, per coordinate.
WORLD_NOISE, IMAGE_NOISE = 0.015, 0.01
#: Frames per noisy clip: enough for a p5 and p95 to mean something.
FRAMES = 300
LEVEL = CameraTilt(0.0, 0.0, "given")
AZIMUTHS = [0.0, 45.0, 90.0, 135.0, 180.0]


def _noisy_knees(knee: float, azimuth: float, seed: int = 0) -> dict[str, np.ndarray]:
    """Both knees of a worker whose right knee bends ``knee`` degrees forward (the left leg straight), seen from
    ``azimuth`` over :data:`FRAMES` frames of independent noise, measured as the analysis measures them."""
    rng = np.random.default_rng(seed)
    world, image = turned(standing(knee=knee), azimuth)
    world = np.repeat(world, FRAMES, axis=0) + rng.normal(0.0, WORLD_NOISE, (FRAMES, *world.shape[1:]))
    image = np.repeat(image, FRAMES, axis=0)
    image[..., :2] += rng.normal(0.0, IMAGE_NOISE * 400, (FRAMES, image.shape[1], 2))  # turned's 400 px a metre
    angles, _ = measured_angles(world, image, NAMES, SETTINGS, LEVEL)
    return {name: angles[name] for name in ("knee_left", "knee_right")}


@pytest.mark.parametrize("azimuth", AZIMUTHS)
def test_a_straight_leg_with_noisy_points_does_not_read_bent(azimuth):
    """An angle's size is biased up by noise near 0 (it cannot go negative); at BlazePose's noise that is a few
    degrees, nowhere near REBA's first bend: every frame of a straight leg scores the legs 1."""
    for knee in _noisy_knees(0.0, azimuth).values():
        assert knee.mean() < 6.0  # about 2.5
        assert np.all(knee < KNEE_BENDS[0])  # the largest of 300 frames: 9-17
        assert np.all(reba_legs(knee) == 1)


@pytest.mark.parametrize("azimuth", AZIMUTHS)
@pytest.mark.parametrize("bend", [45.0, 75.0])
def test_a_bent_knee_still_reads_its_bend_from_every_side(bend, azimuth):
    """From the side the knee is read from the image, from the front and behind from the 3D points: with the depth
    right, both read the bend within a degree on average and score it in its REBA band on nearly every frame."""
    knee = _noisy_knees(bend, azimuth)["knee_right"]
    assert knee.mean() == pytest.approx(bend, abs=2.0)  # within 0.3
    assert np.mean(reba_legs(knee) == reba_legs(bend)) >= 0.95  # 1.0: the p5-p95 span is 38-52 and 69-81


def _frames(left: list[float], right: list[float]) -> dict[str, np.ndarray]:
    """Frames of an upright worker with arms hanging and the given knees (NaN: not seen)."""
    count = len(left)
    still = {"trunk_flexion": 0.0, "neck_flexion": 0.0, "upper_arm_left": 0.0, "upper_arm_right": 0.0, "elbow_left": 80.0,
             "elbow_right": 80.0, "wrist_left": math.nan, "wrist_right": math.nan, "trunk_side_bend": math.nan, "neck_side_bend": math.nan}
    return {**{name: np.full(count, value) for name, value in still.items()},
            "knee_left": np.array(left, float), "knee_right": np.array(right, float)}


def test_the_more_bent_knee_scores_the_legs():
    """REBA adds 1 for a knee bent past 30 and 2 past 60 (a value on a boundary stays in the lower band): the legs
    are scored by the more bent of the two knees seen, either side."""
    _, reba, _ = score_frames(_frames([10.0, 30.0, 30.5, 5.0, 60.0, 61.0], [45.0, 5.0, 5.0, 70.0, 60.0, math.nan]), AssessmentParams())
    assert reba["legs"].tolist() == [2, 1, 2, 3, 2, 3]


def test_knees_not_seen_take_the_jobs_assumption():
    """Where neither knee is seen, the job's ``assumed_knee_flexion`` stands in, and the frames are counted."""
    _, reba, inputs = score_frames(_frames([math.nan, math.nan, 20.0], [math.nan, math.nan, math.nan]),
                                   AssessmentParams(assumed_knee_flexion=45.0))
    assert reba["legs"].tolist() == [2, 2, 1]
    assert inputs["frames_with_assumed_knees"] == 2


def test_the_benchmark_tells_legs_scored_lower_from_higher():
    """``benchmarks/knee_depth.py`` counts the frames whose legs score is below and above the reference's apart (a
    knee too straight or too bent), and keeps the sign of the knee's mean error."""
    truth = {"angles": {"knee_left": np.array([40.0, 10.0, 70.0, math.nan]), "knee_right": np.zeros(4)}}
    ours = {"knee_left": np.array([20.0, 35.0, 70.0, 50.0]), "knee_right": np.zeros(4)}
    read = knee_depth.compare(ours, truth)
    assert (read["legs_lower"], read["legs_higher"]) == (0.25, 0.5)  # 1 < 2; 2 > 1; equal; 2 > 1 (the right knee's 0)
    assert read["bias"] == pytest.approx(5.0 / 7.0, abs=0.05) and read["mae_p95"][0] == pytest.approx(45.0 / 7.0, abs=0.05)

