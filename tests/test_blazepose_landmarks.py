"""BlazePose landmarks on real photographs, through crop, network and projection back to the image."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.pose.blazepose_detector import PoseDetector, RegionOfInterest, region_of_interest
from pipeline.pose.blazepose_landmarks import LandmarkModel, crop_regions, to_image

pytestmark = pytest.mark.slow
NOSE, LEFT_SHOULDER, RIGHT_SHOULDER = 0, 11, 12


@pytest.fixture(scope="module")
def models(pose_models):
    return PoseDetector(pose_models["pose_detection"]), LandmarkModel(pose_models["pose_landmark_full"])


def astronaut(turn: float = 0.0) -> np.ndarray:
    from skimage import data, transform

    image = data.astronaut()
    return image if not turn else (transform.rotate(image, turn, resize=True, mode="constant") * 255).astype(np.uint8)


def landmarks(models, image: np.ndarray) -> dict:
    detector, landmark_model = models
    roi = region_of_interest(detector.detect(image)[0])
    return landmark_model.predict(image[None], [roi], [0])


def test_crops_and_projection_are_inverse():
    frame = np.zeros((1, 200, 300, 3), np.uint8)
    frame[0, 90:110, 190:210] = 255  # a white square centred at (200, 100)
    roi = RegionOfInterest(center=np.array([200.0, 100.0]), size=80.0, rotation=math.radians(30))
    import torch

    crop = crop_regions(torch.from_numpy(frame), [roi], [0])[0].numpy()
    ys, xs = np.nonzero(crop[..., 0] > 0.5)
    assert abs(xs.mean() - 127.5) < 2 and abs(ys.mean() - 127.5) < 2  # the ROI centre lands in the crop centre
    corner = to_image(np.array([[256.0, 128.0]]), roi)[0]  # right edge of the crop, halfway down
    assert corner == pytest.approx([200 + 40 * math.cos(math.radians(30)), 100 + 40 * math.sin(math.radians(30))], abs=1e-6)


def test_the_astronauts_landmarks_are_anatomically_plausible(models):
    out = landmarks(models, astronaut())
    points = out["landmarks"][0]
    nose, left, right = points[NOSE], points[LEFT_SHOULDER], points[RIGHT_SHOULDER]
    assert out["presence"][0] > 0.9
    assert nose[1] < min(left[1], right[1])  # the nose is above both shoulders
    assert right[0] < nose[0] < left[0]  # she faces the camera: her left shoulder is on the image's right
    assert min(nose[2], left[2], right[2]) > 0.9  # all three are visible
    assert out["world"].shape == (1, 39, 3) and np.abs(out["world"][0, :33]).max() < 2.0  # metres around the hips


@pytest.mark.parametrize("degrees", [30, -45, 90])
def test_the_shoulder_line_turns_with_the_photo(models, degrees):
    def shoulder_angle(image):
        points = landmarks(models, image)["landmarks"][0]
        return math.degrees(math.atan2(points[LEFT_SHOULDER, 1] - points[RIGHT_SHOULDER, 1],
                                       points[LEFT_SHOULDER, 0] - points[RIGHT_SHOULDER, 0]))

    change = shoulder_angle(astronaut(degrees)) - shoulder_angle(astronaut())
    assert abs(change + degrees) < 8  # a counter-clockwise turn of the photo, in y-down image coordinates


def test_several_regions_go_through_in_one_batch(models):
    detector, landmark_model = models
    frames = np.stack([astronaut(), astronaut()[:, ::-1].copy()])
    rois = [region_of_interest(detector.detect(frame)[0]) for frame in frames]
    batched = landmark_model.predict(frames, rois, [0, 1])["landmarks"]
    for index in range(2):
        alone = landmark_model.predict(frames[index:index + 1], [rois[index]], [0])["landmarks"][0]
        assert np.abs(batched[index, :, :2] - alone[:, :2]).max() < 0.05
    mirrored_nose_x = batched[1, NOSE, 0]
    # a learned model is not exactly mirror-symmetric: within 2% of the width (measured 6 px of 512)
    assert mirrored_nose_x == pytest.approx(frames.shape[2] - 1 - batched[0, NOSE, 0], abs=0.02 * frames.shape[2])
