"""BlazePose detection on real photographs: the person is found, upright, and the region turns with the photo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.pose.blazepose_detector import PoseDetector, region_of_interest, ssd_anchors, weighted_nms

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def detector(pose_models):
    return PoseDetector(pose_models["pose_detection"])


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    from skimage import transform

    return (transform.rotate(image, degrees, resize=True, mode="constant") * 255).astype(np.uint8)


def test_anchors_match_the_networks_output_layout():
    anchors = ssd_anchors()
    assert len(anchors) == 2254  # 28x28x2 + 14x14x2 + 7x7x6, the detector's output rows
    assert anchors[0].tolist() == pytest.approx([0.5 / 28, 0.5 / 28])
    assert anchors[1568].tolist() == pytest.approx([0.5 / 14, 0.5 / 14])
    assert anchors[1568 + 392].tolist() == pytest.approx([0.5 / 7, 0.5 / 7])
    assert anchors[-1].tolist() == pytest.approx([6.5 / 7, 6.5 / 7])


def test_weighted_nms_merges_overlaps_and_keeps_the_rest():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    keypoints = np.zeros((3, 4, 2))
    keypoints[:, 0, 0] = [0, 3, 9]
    kept = weighted_nms(np.array([0.9, 0.3, 0.8]), boxes, keypoints)
    assert [round(score, 2) for score, _, _ in kept] == [0.9, 0.8]
    merged_box, merged_points = kept[0][1], kept[0][2]
    assert merged_box[0] == pytest.approx(0.25)  # 0.75 x 0 + 0.25 x 1
    assert merged_points[0, 0] == pytest.approx(0.75)


def test_the_astronaut_is_found_upright(detector):
    image = astronaut()
    found = detector.detect(image)
    assert len(found) == 1 and found[0].score > 0.7
    hips, shoulders = found[0].keypoints[0], found[0].keypoints[2]
    assert shoulders[1] < hips[1]  # y grows downwards: shoulders above hips
    box = found[0].box
    assert 0 <= box[0] < box[2] <= image.shape[1] and 0 <= box[1] < box[3] <= image.shape[0]
    assert abs(math.degrees(region_of_interest(found[0]).rotation)) < 15


@pytest.mark.parametrize("degrees", [30, -45, 90])
def test_the_region_turns_with_the_photo(detector, degrees):
    upright = region_of_interest(detector.detect(astronaut())[0]).rotation
    rotated = detector.detect(turned(astronaut(), degrees))
    assert rotated, "the turned person is still found"
    change = math.degrees(region_of_interest(rotated[0]).rotation - upright)
    assert abs(change + degrees) < 10  # a counter-clockwise turn of the photo is a clockwise region rotation


def test_an_empty_scene_has_nobody(detector):
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []
