"""Main-worker tracking and the decode prefetch thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from pipeline.pose.base import PoseOutput
from pipeline.prefetch import prefetch
from pipeline.tracking import select_main_person


def _frames(boxes_per_frame: list[list[tuple[float, float, float, float, float]]]) -> PoseOutput:
    pose = PoseOutput.empty(len(boxes_per_frame), 3, 17)
    for f, boxes in enumerate(boxes_per_frame):
        for p, box in enumerate(boxes):
            pose.boxes[f, p] = box
            pose.keypoints[f, p] = np.array([box[0], box[1], 0.9])  # tag each person's points with its box corner
    return pose


def test_the_largest_person_is_chosen_and_followed():
    worker = (100, 100, 200, 400, 0.99)
    passer_by = (150, 80, 300, 420, 0.95)  # larger, walks right over the worker
    pose = _frames([[worker], [passer_by, (102, 100, 202, 400, 0.99)], [(104, 100, 204, 400, 0.99)]])
    main = select_main_person(pose, 0.5)
    keypoints, boxes, detected = main.keypoints, main.boxes, main.detected
    assert detected.all()
    assert boxes[1, 0] == 102  # overlap with the previous frame keeps the worker
    assert keypoints[2, 0, 0] == 104


def test_frames_without_a_person_are_missing_not_zero():
    pose = _frames([[(10, 10, 50, 90, 0.9)], [], [(10, 10, 50, 90, 0.3)]])
    main = select_main_person(pose, 0.5)
    keypoints, detected = main.keypoints, main.detected
    assert detected.tolist() == [True, False, False]
    assert np.isnan(keypoints[1]).all() and np.isnan(keypoints[2]).all()


def test_prefetch_keeps_order_and_runs_ahead_in_another_thread():
    produced_in = []

    def items():
        for i in range(5):
            produced_in.append(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), depth=2)) == [0, 1, 2, 3, 4]
    assert set(produced_in) == {"prefetch"}


def test_prefetch_reraises_the_producers_error():
    def broken():
        yield 1
        raise ValueError("decoder exploded")

    with pytest.raises(ValueError, match="decoder exploded"):
        list(prefetch(broken()))


def test_prefetch_stops_its_producer_when_the_consumer_stops():
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    for item in prefetch(endless(), depth=2):
        if item == 3:
            break
    time.sleep(0.3)
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count <= 8  # bounded look-ahead, and no work after the consumer left
