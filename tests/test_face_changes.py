"""The annotated video's face searches read again only the squares of the frame that changed (pipeline.face_changes):
on drawn frames with a stand-in for the network that finds the bright squares lying whole in a square it reads, and
on Sports2D's demo with BlazeFace itself."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.face_changes import CHANGE_LEVEL, REFRESH_SEARCHES, ChangedSquares
from pipeline.pose.blazeface import squares

WIDTH, HEIGHT = 960, 540
BACKGROUND = (100, 100, 100)
FACE = 24  # px


class Drawn:
    """A face detector for drawn frames: in each square it reads, the bright blocks (faces) lying whole inside it, as
    the network answers from the square's pixels alone.  Counts the squares read."""

    def __init__(self):
        self.read: list[int] = []

    def search(self, frame: np.ndarray, rects: list) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        self.read.append(len(rects))
        return [self._in(frame, rect) for rect in rects]

    @staticmethod
    def _in(frame: np.ndarray, rect) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        half = rect.width / 2
        x1, y1 = max(0, int(rect.center[0] - half)), max(0, int(rect.center[1] - half))
        x2, y2 = min(frame.shape[1], int(rect.center[0] + half)), min(frame.shape[0], int(rect.center[1] + half))
        mask = (frame[y1:y2, x1:x2, 0] > 180).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = [[x1 + x, y1 + y, x1 + x + w, y1 + y + h] for x, y, w, h, _ in stats[1:count]
                 if (x > 0 or x1 == 0) and (y > 0 or y1 == 0) and (x + w < x2 - x1 or x2 == frame.shape[1])
                 and (y + h < y2 - y1 or y2 == frame.shape[0])]  # whole inside the square
        boxes_array = np.array(boxes, float).reshape(-1, 4)
        return np.full(len(boxes), 0.9), boxes_array, np.zeros((len(boxes), 6, 2))


def frame(faces: list[tuple[int, int]], seed: int = 0, background: tuple[int, int, int] = BACKGROUND) -> np.ndarray:
    """A still background with a camera's noise (a few grey levels) and a bright face at each (x, y) corner."""
    noise = np.random.default_rng(seed).integers(-3, 4, (HEIGHT, WIDTH, 1))
    image = np.clip(np.array(background)[None, None] + noise, 0, 255).astype(np.uint8)
    for x, y in faces:
        image[y:y + FACE, x:x + FACE] = 220
        image[y + 8:y + 12, x + 5:x + 19] = 60  # eyes: a face has detail
    return image


def boxes(found: list[np.ndarray]) -> list[tuple[int, ...]]:
    return sorted(tuple(round(v) for v in box) for box in found)


def expected(faces: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    return sorted((x, y, x + FACE, y + FACE) for x, y in faces)


def test_a_still_frame_is_read_once_and_keeps_its_faces():
    detector = Drawn()
    search = ChangedSquares(detector)
    faces = [(100, 100), (600, 300)]
    assert boxes(search(frame(faces, seed=1))) == expected(faces)
    assert detector.read == [len(squares(WIDTH, HEIGHT))]  # the first search reads every square
    for seed in range(2, 5):  # the same picture, other noise: nothing to read, the same faces
        assert boxes(search(frame(faces, seed=seed))) == expected(faces)
    assert detector.read[1:] == [0, 0, 0] and CHANGE_LEVEL > 3


def test_a_face_walking_into_a_still_background_is_found_and_the_rest_is_not_read_again():
    """A face walks in from the right edge at 7 of its sizes a second, searched twice a second; a face that stands
    still at the left keeps being found, from squares that are not read again."""
    detector = Drawn()
    search = ChangedSquares(detector)
    still = (80, 80)
    assert boxes(search(frame([still]))) == expected([still])
    assert REFRESH_SEARCHES > 10  # no square is read for its age on the way
    for step in range(1, 10):
        walker = (WIDTH - step * 7 * FACE // 2, 400)
        assert boxes(search(frame([still, walker], seed=step))) == expected([still, walker]), step
    everything = len(squares(WIDTH, HEIGHT))
    assert max(detector.read[1:]) < everything / 3  # only the squares the walker walked into, or out of


def test_a_scene_cut_reads_every_square_though_the_grey_levels_stay():
    """A cut to a shot of other colours but the same grey levels: the thumbnails do not change, the colours do, and
    every square is read (a face where the old shot had none is found)."""
    detector = Drawn()
    search = ChangedSquares(detector)
    search(frame([]))
    other = frame([], seed=1, background=(120, 90, 101))  # the same grey (0.299 R + 0.587 G + 0.114 B)
    assert abs(cv2.cvtColor(other, cv2.COLOR_RGB2GRAY).astype(int) - cv2.cvtColor(frame([]), cv2.COLOR_RGB2GRAY)).mean() < 4
    search(other)
    assert detector.read[-1] == len(squares(WIDTH, HEIGHT))


def test_scene_cuts_are_looked_for_between_consecutive_frames_not_between_searches():
    """A shot whose colours change by a tenth of the picture a frame (a pan, a door opening) is no cut, though two
    searches half a second apart differ by more than a cut does; watching every frame, the second search reads only
    what changed: nothing here (the grey levels stay)."""
    from pipeline.face_schedule import faces_by_frame
    from pipeline.scenes import colour_histogram, distance

    frames = [frame([], seed=step) for step in range(3)]
    for step, image in enumerate(frames):
        image[:, :step * WIDTH // 10] = (120, 90, 101)  # the same grey as the background
    histograms = [colour_histogram(image) for image in frames]
    assert distance(histograms[0], histograms[1]) < 0.12 <= distance(histograms[0], histograms[2])
    everything = len(squares(WIDTH, HEIGHT))
    watched, alone = Drawn(), Drawn()
    search = ChangedSquares(watched)
    list(faces_by_frame(search.watch(iter(frames)), np.array([0.0, 0.25, 0.5]), search))
    assert watched.read == [everything, 0]
    unwatched = ChangedSquares(alone)
    for image in frames[::2]:
        unwatched(image)
    assert alone.read == [everything, everything]  # compared searched frame to searched frame: taken for a cut


def test_a_square_unread_for_a_few_seconds_is_read_anyway():
    detector = Drawn()
    search = ChangedSquares(detector)
    for seed in range(REFRESH_SEARCHES + 1):
        search(frame([(300, 200)], seed=seed))
    assert detector.read[1:REFRESH_SEARCHES] == [0] * (REFRESH_SEARCHES - 1)
    assert detector.read[REFRESH_SEARCHES] == len(squares(WIDTH, HEIGHT))


def test_a_frame_of_another_size_is_read_whole():
    """Squares belong to one frame size: a frame of another size (another video) starts over, reading every square."""
    detector = Drawn()
    search = ChangedSquares(detector)
    search(frame([]))
    small = np.ascontiguousarray(frame([(10, 10)])[:360, :640])
    assert boxes(search(small)) == expected([(10, 10)])
    assert detector.read[-1] == len(squares(640, 360))


# -- BlazeFace on real video ---------------------------------------------------------------------------
LABELS = json.loads((Path(__file__).resolve().parent / "data" / "real_sports2d_faces.json").read_text())


@pytest.mark.slow
def test_on_sports2d_the_changed_squares_find_what_a_whole_search_finds(pose_models, tmp_path):
    """Sports2D's demo searched as the annotated video at ``medium`` searches it (every third of 5 frames a second):
    each face a whole search finds with some confidence (score 0.6 and up; the detector's false faces near 0.5
    in the tree come and go with noise) is found, and after the first search fewer squares are read."""
    from pipeline.boxes import iou
    from pipeline.pose.blazeface import FaceDetector
    from pipeline.presets import analysis_size
    from pipeline.video import FrameReader, probe
    from tests.helpers import fetch_clip

    video = fetch_clip(LABELS, tmp_path)
    info = probe(video)
    indices = np.arange(2, info.frame_count, 18)  # 5 a second, every third
    detector = FaceDetector(pose_models["face_detection_short_range"], "cpu")
    search, read = ChangedSquares(detector), []
    found = 0
    for image in FrameReader(video, info, analysis_size(info.width, info.height), indices).read_each(indices):
        mine = search(image)
        read.append(search.read[-1])
        for face in detector.faces(image):
            if face.score >= 0.6:
                found += 1
                assert mine and iou(face.box, np.array(mine)).max() > 0.5, face
    assert found >= 8  # measured: 11 faces on the 13 frames (the two people's, when they face the camera)
    assert np.mean(read[1:]) < 0.75 * len(squares(*analysis_size(info.width, info.height)))  # measured: 0.63
