"""Evidence an engineer can sign: posture pictures with the skeleton, blurred faces, and the annotated video, made
by a real BlazePose analysis of the demo clip (the ``analysed`` fixture: a person leaning over and straightening up)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from pipeline.evidence import MAX_HELD_PICTURES, moments, write_pictures
from pipeline.result_model import SustainedPosture
from pipeline.results import load_result


def test_pictures_show_the_worst_moments_and_the_held_postures_with_faces_blurred(analysed, tmp_path):
    from PIL import Image

    store, doc, video = analysed
    result = load_result(store.get(doc.result_keys["pkl"]).body)
    chosen = moments(result)
    worst = {m.time_s for block in (result.summary.rula, result.summary.reba) for m in block.worst_moments}
    assert {round(m["time_s"], 3) for m in chosen} >= worst  # every worst moment is pictured
    pictures = result.pictures
    assert len(pictures) == len(chosen) and all(p.face_blurred for p in pictures)
    assert all(p.faces_searched for p in pictures)  # BlazeFace looked for everyone's face (tests/test_blazeface.py)
    assert all(f"frames/{p.file}" in doc.result_keys for p in pictures)
    first = pictures[0]
    blurred = Image.open(io.BytesIO(store.get(doc.result_keys[f"frames/{first.file}"]).body))
    assert blurred.width >= 640  # small analysed frames are enlarged so the labels read

    plain = write_pictures(result, video, tmp_path / "plain", blur_faces=False)
    assert [p.file for p in plain] == [p.file for p in pictures] and not any(p.face_blurred for p in plain)
    sharp = np.asarray(Image.open(tmp_path / "plain" / first.file).convert("L"), dtype=float)
    soft = np.asarray(blurred.convert("L"), dtype=float)
    names = result.keypoint_names
    position = int(np.argmin(np.abs(result.timestamps - first.time_s)))
    nose = result.keypoints[position][names.index("nose")][:2] * (blurred.width / _analysed_size(video)[0])
    x, y = int(nose[0]), int(nose[1])
    face = (slice(max(0, y - 8), y + 8), slice(max(0, x - 8), x + 8))
    assert np.abs(sharp[face] - soft[face]).mean() > 3  # the face changed...
    far = (slice(int(soft.shape[0] * 0.85), None), slice(None))
    assert np.abs(sharp[far] - soft[far]).mean() < 0.5  # ...the rest of the picture did not


def test_a_long_video_pictures_its_longest_held_postures_not_every_one(analysed):
    """A shift holds dozens of postures; each is listed in the report, and the longest few are pictured."""
    store, doc, _ = analysed
    result = load_result(store.get(doc.result_keys["pkl"]).body)
    times = result.timestamps
    held = [SustainedPosture(part="trunk", band="flexed", start_s=float(t), end_s=float(t) + 4 + i, duration_s=4.0 + i)
            for i, t in enumerate(times[: MAX_HELD_PICTURES + 4])]
    many = result.model_copy(update={"summary": result.summary.model_copy(update={"sustained_postures": held})})
    worst = {m.time_s for block in (result.summary.rula, result.summary.reba) for m in block.worst_moments}
    pictured = [m for m in moments(many) if any("held" in reason for reason in m["reasons"])]
    longest = sorted(held, key=lambda run: -run.duration_s)[:MAX_HELD_PICTURES]
    assert len(held) > MAX_HELD_PICTURES and len(pictured) == MAX_HELD_PICTURES
    assert {m["time_s"] for m in pictured} == {round(run.start_s, 3) for run in longest}
    assert {round(m["time_s"], 3) for m in moments(many)} >= worst  # the worst moments are all still pictured


def _analysed_size(video) -> tuple[int, int]:
    from pipeline.presets import analysis_size
    from pipeline.video import probe

    info = probe(video)
    return analysis_size(info.width, info.height)


def test_the_annotated_video_has_every_analysed_frame_at_the_analysed_rate(analysed, tmp_path):
    from pipeline.evidence import write_overlay
    from pipeline.video import probe

    store, doc, video = analysed
    assert "mp4" not in doc.result_keys  # the low preset leaves it out unless the job asks
    result = load_result(store.get(doc.result_keys["pkl"]).body)
    path = write_overlay(result, video, tmp_path / "overlay.mp4")
    info = probe(path)
    frames = len(result.frame_indices)
    assert info.frame_count == frames and info.fps == pytest.approx(result.preset.sample_fps)
    assert info.width == _analysed_size(video)[0] and info.height % 2 == 0


def test_the_annotated_video_blurs_the_faces_the_detector_finds_in_every_frame(analysed, pose_models, tmp_path):
    """overlay.mp4 is searched for faces twice a second (tests/test_blazeface.py: everyone's, on a clip of two
    people, blurred on the frames between searches too), only where faces are blurred, and the worker's face is
    blurred in every frame."""
    import av

    from pipeline.evidence import write_overlay
    from pipeline.face_schedule import FACE_SEARCH_S
    from pipeline.pose.blazeface import FaceDetector

    store, doc, video = analysed
    result = load_result(store.get(doc.result_keys["pkl"]).body)
    detector, searched = FaceDetector(pose_models["face_detection_short_range"], "cpu"), []
    find = detector.search  # each search reads the squares of the frame that changed (pipeline.face_changes)
    detector.search = lambda frame, rects, **options: searched.append(frame.shape) or find(frame, rects, **options)
    paths = {blurring: write_overlay(result, video, tmp_path / f"{blurring}.mp4", blur_faces=blurring, faces=detector)
             for blurring in (True, False)}
    # `low` analyses 2 frames a second, FACE_SEARCH_S apart: each is searched (at `medium`, a third: test_blazeface.py)
    assert 1 / result.preset.sample_fps >= FACE_SEARCH_S and len(searched) == len(result.frame_indices)
    with av.open(str(paths[True])) as soft, av.open(str(paths[False])) as sharp:
        pairs = zip(soft.decode(video=0), sharp.decode(video=0), strict=True)
        changed = []
        for position, (blurred, plain) in enumerate(pairs):
            nose = result.keypoints[position][list(result.keypoint_names).index("nose")]
            if np.isnan(nose[0]):
                continue
            x, y = int(nose[0]), int(nose[1])
            face = (slice(max(0, y - 8), y + 8), slice(max(0, x - 8), x + 8))
            changed.append(np.abs(blurred.to_ndarray(format="gray")[face].astype(float) - plain.to_ndarray(format="gray")[face]).mean())
    assert len(changed) > len(searched) / 2 and np.median(changed) > 3


def test_an_unscored_frames_dash_is_drawn_not_the_missing_glyph_box():
    """Pictures and the annotated video write "RULA –" on unscored frames: the dash must be in the font they use
    (a font without it draws the box it draws for any missing character)."""
    from pipeline.evidence import _label

    def ink(text: str) -> np.ndarray:
        return np.asarray(_label(text, 32))[..., 3] > 128

    def extent(mask: np.ndarray, axis: int) -> int:
        return len(np.flatnonzero(mask.any(axis=axis)))

    dash, missing, letter = ink("–"), ink("\ue000"), ink("R")  # U+E000: private use, in no font
    assert dash.shape != missing.shape or (dash != missing).any()
    assert extent(dash, 1) < 0.4 * extent(letter, 1)  # a thin bar, not a box as tall as a letter
    assert extent(dash, 0) > 1.5 * extent(dash, 1)  # wider than tall


def test_the_angle_labels_in_a_picture_never_overlap(analysed, monkeypatch):
    """Issue 27, point 3: the labels of the angles around the shoulders (neck, both upper arms) ran into each other;
    every analysed frame of the demo is drawn, and the boxes its labels were placed in are compared."""
    import pipeline.evidence as evidence

    store, doc, video = analysed
    result = load_result(store.get(doc.result_keys["pkl"]).body)
    width, height = _analysed_size(video)
    placed: list[tuple[int, int, int, int]] = []
    real = evidence._place

    def recorded(size, spot, taken, bounds):
        x, y = real(size, spot, taken, bounds)
        placed.append((x, y, x + size[0], y + size[1]))
        return x, y

    monkeypatch.setattr(evidence, "_place", recorded)
    labels = 0
    for position, time_s in enumerate(result.timestamps):
        placed.clear()
        image, _ = evidence.draw(np.zeros((height, width, 3), np.uint8), result, position, float(time_s), blur_faces=False)
        labels += len(placed)
        caption = (0, 0, image.width, evidence.image_font(max(12, image.width // 32)).size + 12)
        for i, box in enumerate(placed):
            assert box[0] >= 0 and box[1] >= 0 and box[2] <= image.width and box[3] <= image.height
            assert not any(evidence._overlap(box, other) for other in [caption, *placed[i + 1:]]), (time_s, box)
    assert labels > 3 * len(result.timestamps)  # most frames have their labels


def _scheduled(tracks: dict[int, list[np.ndarray]], times: np.ndarray,
               unreadable: tuple[int, ...] = ()) -> tuple[list[int], dict[int, list[np.ndarray]]]:
    """(the positions searched, the boxes blurred at each position) of pipeline.face_schedule on frames whose faces
    are ``tracks`` (position: boxes; each frame holds its position's number), ``unreadable`` ones None."""
    from pipeline.face_schedule import faces_by_frame

    searched: list[int] = []

    def search(frame: np.ndarray) -> list[np.ndarray]:
        searched.append(int(frame[0, 0, 0]))
        return tracks[int(frame[0, 0, 0])]

    frames = [None if position in unreadable else np.full((1, 1, 3), position, np.uint8) for position in range(len(times))]
    return searched, {position: boxes for position, _, boxes in faces_by_frame(frames, times, search)}


def _inside(face: np.ndarray, boxes: list[np.ndarray]) -> bool:
    return any(box[0] <= face[0] and box[1] <= face[1] and face[2] <= box[2] and face[3] <= box[3] for box in boxes)


def _walker(start_s: float, times: np.ndarray) -> dict[int, list[np.ndarray]]:
    """A 20 px face walking left at 7 of its sizes a second from ``start_s`` (the walker of tests/test_blazeface.py
    moves 6-7)."""
    return {p: [np.array([900 - 7 * 20 * (t - start_s), 300, 920 - 7 * 20 * (t - start_s), 320])] if t >= start_s else []
            for p, t in enumerate(times)}


def test_the_annotated_video_searches_for_faces_twice_a_second_and_blurs_where_they_went_between():
    """At 10 frames a second, every fifth frame is searched (and the last), and a walking face is blurred on every
    frame, also one that comes between two searches."""
    from pipeline.face_schedule import FACE_SEARCH_S

    times = np.arange(31) / 10
    for start_s in (0.0, 1.15):
        walk = _walker(start_s, times)
        searched, blurred = _scheduled(walk, times)
        assert searched == [0, 5, 10, 15, 20, 25, 30] and FACE_SEARCH_S == 0.5
        assert all(_inside(face, blurred[p]) for p, faces in walk.items() for face in faces)
        assert all(not _inside(np.array([100, 100, 120, 120]), boxes) for boxes in blurred.values())  # nowhere near


def test_an_unreadable_frame_is_not_searched_but_the_next_readable_one_is():
    times = np.arange(12) / 10
    walk = _walker(0.0, times)
    searched, blurred = _scheduled(walk, times, unreadable=(5, 11))
    assert searched == [0, 6, 10] and blurred[5] == [] and blurred[11] == []  # frame 10: the last readable
    assert all(_inside(walk[p][0], blurred[p]) for p in range(11) if p != 5)
