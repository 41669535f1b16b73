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
    crop = crop_regions(frame, [roi])[0].numpy()
    ys, xs = np.nonzero(crop[..., 0] > 0.5)
    # the square's centre, (199.5, 99.5) (pixel i lies at i), is half a pixel up-left of the ROI's: in the crop's axes
    # (turned by 30 degrees) and scale (256 / 80), that is where it lands around the crop's centre (128, 128)
    x_axis, y_axis = np.array([math.cos(math.radians(30)), math.sin(math.radians(30))]), np.array([-math.sin(math.radians(30)), math.cos(math.radians(30))])
    offset = np.array([-0.5, -0.5])
    expected = 128 + 256 / 80 * np.array([offset @ x_axis, offset @ y_axis])
    assert [xs.mean(), ys.mean()] == pytest.approx(expected, abs=0.2)
    corner = to_image(np.array([[256.0, 128.0]]), roi)[0]  # right edge of the crop, halfway down
    assert corner == pytest.approx([200 + 40 * math.cos(math.radians(30)), 100 + 40 * math.sin(math.radians(30))], abs=1e-6)


def test_outside_the_frame_the_crop_repeats_its_border_and_the_detector_sees_black():

    from pipeline.pose.image_to_tensor import Rect, letterbox_rect, warp

    frame = np.zeros((1, 100, 200, 3), np.uint8)
    frame[0, :, :100], frame[0, :, 100:] = 40, 200  # dark left half, bright right half
    outside = warp(frame, [Rect((250.0, 50.0), 100, 100)], 64, "replicate", (0.0, 1.0))[0]
    assert outside[..., 0].min() == pytest.approx(200 / 255)  # right of the frame: the rightmost column, repeated
    letterboxed = warp(frame, [letterbox_rect(200, 100)], 224, "zero", (-1.0, 1.0))[0]
    assert letterboxed[0, :, 0].max() == -1.0 and letterboxed[-1, :, 0].max() == -1.0  # black bands above and below
    assert letterboxed[112, 10, 0] == pytest.approx(40 / 255 * 2 - 1) and letterboxed[112, 200, 0] == pytest.approx(200 / 255 * 2 - 1)


def test_heatmap_refinement_moves_confident_points_to_the_peak_and_leaves_the_rest():
    from pipeline.pose.blazepose_landmarks import refine_from_heatmap

    heatmap = np.full((1, 64, 64, 3), -10.0, np.float32)  # sigmoid(-10): no confidence anywhere...
    heatmap[0, 20, 30, 0] = 10.0  # ...but a sharp peak for point 0 at row 20, column 30
    heatmap[0, 40, 40, 1] = -0.5  # a weak one (confidence 0.38) for point 1
    points = np.array([[[122.0, 82.0], [161.0, 161.0], [-30.0, 10.0]]])  # crop pixels: 4 per heatmap cell
    refined = refine_from_heatmap(points, heatmap)[0]
    assert refined[0] == pytest.approx([120.0, 80.0], abs=0.01)  # MediaPipe: a cell stands for its corner (30 / 64 * 256)
    assert refined[1].tolist() == [161.0, 161.0]  # not confident enough (< 0.5): kept
    assert refined[2].tolist() == [-30.0, 10.0]  # left of the heatmap: kept


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
    # a counter-clockwise turn of the photo, in y-down image coordinates; at -45 degrees MediaPipe itself measures
    # 56.2 (and so does this pipeline: the same landmarks)
    assert abs(change + degrees) < 12


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


def opencv_remap(frame: np.ndarray, points: np.ndarray, border: str) -> np.ndarray:
    """OpenCV's 8-bit bilinear remap in its own integer arithmetic: positions in whole 32nds of a pixel, weights
    in whole 1024ths, the sum rounded half up (``(sum + 512) >> 10``)."""
    height, width = frame.shape[:2]
    fixed = np.rint(points * 32).astype(np.int64)
    x0, y0, fx, fy = fixed[..., 0] >> 5, fixed[..., 1] >> 5, fixed[..., 0] & 31, fixed[..., 1] & 31
    total = np.zeros(points.shape[:-1] + (3,), np.int64)
    for dx, dy, weight in ((0, 0, (32 - fx) * (32 - fy)), (1, 0, fx * (32 - fy)), (0, 1, (32 - fx) * fy), (1, 1, fx * fy)):
        x, y = x0 + dx, y0 + dy
        pixel = frame[np.clip(y, 0, height - 1), np.clip(x, 0, width - 1)].astype(np.int64)
        if border == "zero":
            pixel *= ((x >= 0) & (x < width) & (y >= 0) & (y < height))[..., None]
        total += pixel * weight[..., None]
    return (total + 512) >> 10


@pytest.mark.parametrize("border", ["replicate", "zero"])
def test_crops_are_opencv_4s_level_for_level(border):
    """Against OpenCV 4's integer arithmetic written out here (MediaPipe's crops): OpenCV 5 would fail this."""
    import cv2

    from pipeline.pose.image_to_tensor import Rect, warp

    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    size, differ = 48, 0
    for _ in range(12):  # inside, across the edges and wholly outside the frame, turned every way
        rect = Rect((float(rng.uniform(-80, 240)), float(rng.uniform(-60, 180))), float(rng.uniform(10, 300)),
                    float(rng.uniform(10, 300)), float(rng.uniform(-math.pi, math.pi)))
        ours = warp(frame[None], [rect], size, border, (0.0, 255.0))[0].numpy()
        bottom_left, top_left, top_right, _ = cv2.boxPoints((rect.center, (rect.width, rect.height), math.degrees(rect.rotation))).astype(np.float64)
        steps = np.arange(size) / size
        points = top_left + steps[None, :, None] * (top_right - top_left) + steps[:, None, None] * (bottom_left - top_left)
        differ += int((ours != opencv_remap(frame, points, border)).sum())
    # of 82,944 values, 5 and 7 differ by a level (positions that OpenCV's inverted matrix puts a hair across a 32nd
    # from this formula's); OpenCV 5's crops differ from OpenCV 4's in 1.3% of their values
    assert differ <= 0.0002 * 12 * size * size * 3
