"""The painted-out views of the benchmark's reference (``benchmarks/reference_views.py``), on small synthetic data.

The benchmark itself (``benchmarks/accuracy.py --recording multi``) analyses four painted videos more than the
compared cameras; that stays in the benchmark, and these tests check the pure parts: which analysed frames paint
which video frame, that a body's shape is painted and nothing far from it, that a painted copy keeps its frames
and is found again in the cache, and that a view is kept only where it lands on the expected person.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import reference_views as views
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS

NAMES = list(BLAZEPOSE_KEYPOINTS)


def standing(x: float, y: float, scale: float = 1.0) -> np.ndarray:
    """(k, 2) pixels of a person standing upright with the arms down, the ears' midpoint at ``(x, y)``: a torso 40 px
    long times ``scale``."""
    offsets = {"nose": (0, 2), "mouth_left": (-1, 5), "mouth_right": (1, 5), "ear": (4, 0), "eye": (2, -1), "eye_inner": (1, -1), "eye_outer": (3, -1),
               "shoulder": (10, 12), "elbow": (12, 32), "wrist": (12, 50), "pinky": (13, 56), "index": (12, 57), "thumb": (10, 55),
               "hip": (7, 52), "knee": (7, 80), "ankle": (7, 108), "heel": (7, 111), "foot_index": (7, 114)}
    points = np.zeros((len(NAMES), 2))
    for k, name in enumerate(NAMES):
        side, _, part = name.partition("_")
        sign, part = (-1 if side == "left" else 1, part) if side in ("left", "right") else (1, name)
        dx, dy = offsets[part]
        points[k] = (x + sign * dx * scale, y + dy * scale)
    return points


def test_a_video_frame_is_painted_from_the_analysed_frames_next_to_it():
    analysed = np.array([0, 2, 4, 6, 8])
    found = np.array([True, True, False, False, True])
    plan = views.bracketing(analysed, found, 10)
    assert plan[0].tolist() == [0, 0] and plan[1].tolist() == [0, 1]  # on an analysed frame, and between two
    assert plan[5].tolist() == [-1, -1]  # the person not found within a step of it: not painted from afar
    assert plan[4].tolist() == [1, -1] and plan[6].tolist() == [-1, 4]
    assert plan[9].tolist() == [4, -1]  # one step past the last
    assert (views.bracketing(analysed, np.zeros(5, bool), 10) == -1).all()


def test_the_body_is_painted_grey_and_nothing_far_from_it():
    frame = np.full((200, 160, 3), 30, np.uint8)
    person = standing(50, 40)
    torso = views.torso_px(person[None], NAMES)
    assert torso == pytest.approx(40.0)
    painted = views.paint_out(frame, [person], NAMES, torso)
    for name in ("nose", "left_wrist", "right_ankle", "left_hip", "right_foot_index"):
        x, y = person[NAMES.index(name)].astype(int)
        assert (painted[y, x] == views.PAINT_GREY).all(), name
    x, y = person[NAMES.index("right_shoulder")]  # a limb's width round its bone, the head's round the ears
    assert (painted[int(y) + 20, int(x) + int(views.LIMB_RADIUS * torso) - 1] == views.PAINT_GREY).all()
    assert (painted[40 - int(views.HEAD_RADIUS * torso) + 1, 50] == views.PAINT_GREY).all()
    assert (painted[:, 120:] == 30).all() and (painted[170:] == 30).all()  # another person standing beside is left
    assert (frame == 30).all()  # the frame itself is not painted on
    unknown = person.copy()
    unknown[:] = np.nan
    assert (views.paint_out(frame, [unknown], NAMES, torso) == 30).all()


def test_a_painted_copy_keeps_every_frame_and_is_read_again_from_the_cache(tmp_path):
    import av

    source = tmp_path / "two.mp4"
    with av.open(str(source), "w") as writing:
        stream = writing.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 200, "yuv420p"
        for _ in range(6):
            writing.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((200, 160, 3), 30, np.uint8), format="rgb24")))
        writing.mux(stream.encode())
    people = np.stack([standing(50, 40)] * 3)[None]  # analysed at frames 0, 2 and 4
    copy = views.painted_video(source, people, np.array([0, 2, 4]), NAMES, tmp_path)
    with av.open(str(copy)) as reading:
        frames = [frame.to_ndarray(format="rgb24") for frame in reading.decode(video=0)]
    assert len(frames) == 6
    for frame in frames:
        assert abs(int(frame[60, 50, 0]) - views.PAINT_GREY) < 6 and abs(int(frame[100, 140, 0]) - 30) < 6
    assert views.painted_video(source, people, np.array([0, 2, 4]), NAMES, tmp_path) == copy
    assert len(list((tmp_path / "painted").iterdir())) == 1
    with pytest.raises(ValueError, match="landmarks"):
        views.painted_video(source, people[0], np.array([0, 2, 4]), NAMES, tmp_path)


def test_a_view_is_kept_only_where_it_lands_on_the_expected_person():
    rng = np.random.default_rng(4)
    expected = np.stack([standing(50, 40)] * 4)
    points = expected + rng.normal(0, 5, expected.shape)  # frame 0: the person, 5 px of noise
    points[1] = standing(250, 40)  # frame 1: someone else, 200 px away
    seen = np.ones(points.shape[:2], bool)
    seen[2, 4:] = False  # frame 2: too few points seen to tell
    expected[3] = np.nan  # frame 3: nothing to compare with
    kept, distance = views.follows(points, seen, expected, max_px=50)
    assert kept.tolist() == [True, False, False, False]
    assert distance[0] < 10 and distance[1] == pytest.approx(200) and np.isnan(distance[3])
