"""Reading real videos made by the tests: sampling, rotation, bad files, damage, AV1."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pipeline.presets import analysis_size, get_preset
from pipeline.synthetic import make_video
from pipeline.video import FrameReader, UnreadableVideo, probe, read_errors, sample_indices


def test_probe_reads_size_rate_and_frame_count(tmp_path):
    info = probe(make_video(tmp_path / "a.mp4", frames=40, width=96, height=64, fps=20))
    assert (info.frame_count, info.fps, info.width, info.height, info.rotation) == (40, 20.0, 96, 64, 0)
    assert info.reader == "decord" and info.duration == pytest.approx(2.0)


def test_presets_set_the_sampling_rate_and_every_preset_reads_the_same_size(tmp_path):
    from pipeline.analysis import AnalysisOptions, Plan
    from pipeline.presets import PRESETS

    video = make_video(tmp_path / "a.mp4", frames=60, fps=30, width=1280, height=720)
    info = probe(video)
    assert len(sample_indices(info, get_preset("low").sample_fps)) == 4  # 2 s at 2 frames/s
    assert len(sample_indices(info, get_preset("high").sample_fps)) == 20
    plans = {name: Plan.of(video, AnalysisOptions(preset)) for name, preset in PRESETS.items()}
    assert {plan.size for plan in plans.values()} == {(960, 540)}  # a frame is the same pixels at every preset
    low, high = set(plans["low"].indices), set(plans["high"].indices)
    assert low < high  # low's frames are among high's: they are read, and so posed, alike
    assert analysis_size(1920, 1080) == (960, 540)
    assert analysis_size(1080, 1920)[1] == pytest.approx(968, abs=2)  # portrait: the long side is the height
    assert analysis_size(640, 360) == (640, 360)  # never upscaled
    with pytest.raises(ValueError, match="choose one of: low, medium, high"):
        get_preset("ultra")


def test_chunks_are_read_at_the_inference_size(tmp_path):
    path = make_video(tmp_path / "a.mp4", frames=20, width=320, height=240)
    info = probe(path)
    frames = FrameReader(path, info, (160, 120)).read(np.array([0, 5, 10]))
    assert frames.shape == (3, 120, 160, 3) and frames.dtype == np.uint8


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotated_phone_video_is_delivered_upright(tmp_path, rotation):
    upright_path = make_video(tmp_path / "upright.mp4", frames=10, width=48, height=64)
    upright = FrameReader(upright_path, probe(upright_path), (48, 64)).read(np.arange(3)).astype(int)

    def stored(index, width, height):  # what the camera stores: the upright scene turned back
        from pipeline.synthetic import moving_scene
        return np.ascontiguousarray(np.rot90(moving_scene(index, 48, 64), k=-(rotation // 90)))

    width, height = (64, 48) if rotation in (90, -90) else (48, 64)
    path = make_video(tmp_path / "phone.mp4", frames=10, width=width, height=height, display_rotation=rotation, scene=stored)
    info = probe(path)
    assert (info.width, info.height) == (48, 64)
    frames = FrameReader(path, info, (48, 64)).read(np.arange(3)).astype(int)
    assert frames.shape == upright.shape
    assert np.abs(frames - upright).mean() < 6  # the same picture, up to compression noise
    assert frames[:, :16, :12, 0].mean() > 180  # the red marker is top-left, where it belongs


def test_av1_goes_through_the_pyav_fallback(tmp_path):
    path = make_video(tmp_path / "av1.mp4", frames=12, width=64, height=64, codec="libsvtav1")
    info = probe(path)
    assert info.reader == "pyav"
    frames = FrameReader(path, info, (64, 64)).read(np.array([0, 4, 8]))
    assert frames.shape == (3, 64, 64, 3) and frames[:, :16, :16, 0].mean() > 180


def _bad_files(tmp_path):
    good = make_video(tmp_path / "good.mp4", frames=30)
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("This is a shopping list, not a video.\n" * 50)
    (tmp_path / "random.mov").write_bytes(os.urandom(20000))
    (tmp_path / "truncated.mp4").write_bytes(good.read_bytes()[:600])
    import av

    with av.open(str(tmp_path / "image.png"), "w") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
            container.mux(packet)
    return ["empty.mp4", "text.mp4", "random.mov", "truncated.mp4", "image.png", "missing.mp4"]


def test_files_that_are_not_videos_get_a_clear_error(tmp_path):
    for name in _bad_files(tmp_path):
        with pytest.raises(UnreadableVideo, match=r"^The file is not a readable video \(") as caught:
            probe(tmp_path / name)
        assert str(tmp_path) not in str(caught.value), "no internal paths in messages"


def test_damage_in_the_middle_costs_only_the_frames_it_damages(tmp_path):
    rng = np.random.default_rng(0)
    original = make_video(tmp_path / "noisy.mp4", frames=90, width=96, height=64, fps=15, gop=10,
                          scene=lambda i, w, h: rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    data = bytearray(original.read_bytes())
    data[len(data) // 2:len(data) // 2 + 20000] = bytes(20000)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(data)
    indices = np.arange(0, 90, 3)  # 30 sampled frames, as one batch
    with pytest.raises(read_errors()):
        FrameReader(damaged, probe(damaged), (64, 42)).read(indices)  # the batch as a whole fails...
    frames = FrameReader(damaged, probe(damaged), (64, 42)).read_each(indices)
    lost = [int(i) for i, frame in zip(indices, frames) if frame is None]
    assert 0 < len(lost) <= 10  # ...frame by frame, only the damaged spot is lost (about 20 KB of 90 noisy frames)
    assert lost[-1] - lost[0] < 45  # and it is one spot, not half the video
    sound = FrameReader(original, probe(original), (64, 42)).read(indices)
    before = [position for position, index in enumerate(indices) if index < lost[0] - 10]  # decoded before the damage
    assert before and all(np.array_equal(frames[p], sound[p]) for p in before)



def test_the_reader_does_not_go_on_decoding_in_the_background_between_chunks(tmp_path):
    """decord's decoder thread, left alone after a batch, decodes the frames that follow into memory (about 1 GB
    for this clip, within a second); the reader stops it, so memory does not jump while the model works."""
    import time

    def resident_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    video = make_video(tmp_path / "minute.mp4", frames=1800, width=640, height=360, fps=30, gop=30)
    reader = FrameReader(video, probe(video), (640, 360))
    assert reader.reader == "decord"
    reader.read(np.arange(0, 150, 6))
    before = resident_mb()
    time.sleep(1.5)  # what the pose model's time on a chunk looks like to the reader
    assert resident_mb() - before < 100
    assert reader.read(np.arange(150, 300, 6)).shape == (25, 360, 640, 3)  # and it reads on from where it was
