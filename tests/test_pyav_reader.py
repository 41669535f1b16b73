"""The PyAV reader: it skips non-reference frames between sampled frames, and never a sampled one.

Every check compares with a plain decode of every frame (FFmpeg decodes bit-exactly, so a frame reached after
skips must be the very frame a full decode gives), on real x264 and x265 files with B-frames made here.
"""

from __future__ import annotations

import dataclasses

import av
import numpy as np
import pytest

from pipeline.pyav_reader import PacketIndex, PyAVReader, has_nonreference_frames
from pipeline.synthetic import make_video
from pipeline.video import FrameReader, probe, read_errors

SIZE = (96, 64)


def noisy_scene(index: int, width: int, height: int) -> np.ndarray:
    """Noise that changes every frame: the encoder must code every frame, B-frames included, with real content."""
    return np.random.default_rng(index).integers(0, 255, (height, width, 3), dtype=np.uint8)


def every_frame(path, size=SIZE) -> np.ndarray:
    """Each frame of the video, decoded one after the other with nothing skipped, converted as the reader does."""
    with av.open(str(path)) as container:
        frames = sorted(container.decode(video=0), key=lambda frame: frame.pts)
        return np.stack([frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="BILINEAR").to_ndarray()
                         for frame in frames])


@pytest.fixture(scope="module")
def bframes(tmp_path_factory):
    """90 frames, a keyframe every 30, 3 B-frames between references (x264)."""
    return make_video(tmp_path_factory.mktemp("b") / "b.mp4", frames=90, width=96, height=64, fps=30, gop=30,
                      bframes=3, scene=noisy_scene)


def test_a_video_with_nonreference_frames_is_read_by_pyav_and_one_without_by_decord(tmp_path, bframes):
    plain = make_video(tmp_path / "plain.mp4", frames=40, width=96, height=64, fps=30, gop=30)
    assert not has_nonreference_frames(plain) and probe(plain).reader == "decord"
    assert has_nonreference_frames(bframes)
    info = probe(bframes)
    assert (info.reader, info.frame_count, info.fps) == ("pyav", 90, 30.0)


@pytest.mark.parametrize("step", [6, 3, 2, 1])  # low, medium and high at 30 fps, and every frame
def test_sampled_frames_are_the_frames_a_full_decode_gives_and_fewer_frames_are_decoded(bframes, step):
    reference = every_frame(bframes)
    indices = np.arange(0, 90, step)
    reader = PyAVReader(bframes, SIZE, sampled=indices)
    frames = np.concatenate([reader.read(indices[start:start + 8]) for start in range(0, len(indices), 8)])
    assert np.array_equal(frames, reference[indices])
    if step > 1:
        assert reader.frames_decoded < 90  # non-reference frames between samples were skipped
    assert reader.frames_decoded >= len(indices)


def test_a_sampled_frame_that_is_itself_a_nonreference_frame_is_still_decoded(bframes):
    reference = every_frame(bframes)
    with av.open(str(bframes)) as container:  # which frames are non-reference: those a NONREF decode leaves out
        container.streams.video[0].codec_context.skip_frame = "NONREF"
        kept = {frame.pts for frame in container.decode(video=0)}
    index = PacketIndex.of(bframes)
    nonreference = [n for n, pts in enumerate(index.pts) if int(pts) not in kept]
    assert len(nonreference) > 20
    frames = PyAVReader(bframes, SIZE).read(np.array(nonreference))
    assert np.array_equal(frames, reference[nonreference])


def test_hevc_with_b_frames_is_read_alike(tmp_path):
    video = make_video(tmp_path / "hevc.mp4", frames=60, width=96, height=64, fps=30, gop=30, codec="libx265",
                       bframes=3, scene=noisy_scene)
    indices = np.arange(0, 60, 4)
    reader = PyAVReader(video, SIZE, sampled=indices)
    assert np.array_equal(reader.read(indices), every_frame(video)[indices])
    assert reader.frames_decoded < 60


def test_reading_back_and_forth_as_parts_and_resumes_do_gives_the_same_frames(bframes):
    """A part primes on the chunk before it, a resume starts mid-video, evidence reads a few frames: the reader
    seeks back where it has passed a frame, and decodes on where that is shorter."""
    reference = every_frame(bframes)
    indices = np.arange(0, 90, 5)
    reader = PyAVReader(bframes, SIZE, sampled=indices)
    for chunk in (indices[6:12], indices[0:6], indices[12:], indices[6:12], np.array([85]), np.array([0, 45])):
        assert np.array_equal(reader.read(chunk), reference[chunk])


def smooth_scene(index: int, width: int, height: int) -> np.ndarray:
    """Gradients and a moving block: what a camera's picture looks like to a scaler, unlike noise."""
    y, x = np.mgrid[0:height, 0:width]
    frame = np.stack([x * 255 // width, y * 255 // height, (x + y + index * 4) % 256], axis=-1).astype(np.uint8)
    frame[height // 3:height // 3 + 20, index * 3 % width:index * 3 % width + 30] = (230, 200, 40)
    return frame


@pytest.mark.parametrize("bframes", [0, 3])
def test_the_readers_number_and_decode_frames_alike(tmp_path, bframes):
    """At the stored size the two readers give the very same frames, frame for frame (the same numbering, the same
    colour conversion); resized, within a fraction of a level on a camera-like picture (two FFmpeg versions'
    bilinear scalers): the choice of reader does not change what the model sees beyond compression noise."""
    import decord

    def both_readers(video, size):
        info = probe(video)
        indices = np.arange(0, info.frame_count, 2)
        return [FrameReader(video, dataclasses.replace(info, reader=reader), size).read(indices).astype(int)
                for reader in ("decord", "pyav")]

    noise = make_video(tmp_path / "noise.mp4", frames=45, width=192, height=128, fps=30, gop=15, bframes=bframes,
                       scene=noisy_scene)
    assert len(decord.VideoReader(str(noise))) == len(PacketIndex.of(noise)) == probe(noise).frame_count == 45
    decord_frames, pyav_frames = both_readers(noise, (192, 128))
    assert np.array_equal(decord_frames, pyav_frames)
    smooth = make_video(tmp_path / "smooth.mp4", frames=45, width=640, height=360, fps=30, gop=15, bframes=bframes,
                        scene=smooth_scene)
    decord_frames, pyav_frames = both_readers(smooth, (480, 270))
    assert np.abs(decord_frames - pyav_frames).mean() < 1.0


def test_damage_in_a_video_with_b_frames_costs_only_the_frames_it_damages(tmp_path):
    original = make_video(tmp_path / "noisy.mp4", frames=90, width=96, height=64, fps=15, gop=10, bframes=3,
                          scene=noisy_scene)
    data = bytearray(original.read_bytes())
    data[len(data) // 2:len(data) // 2 + 20000] = bytes(20000)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(data)
    info = dataclasses.replace(probe(damaged), reader="pyav")  # probe may find the damage before any B-frame
    indices = np.arange(0, 90, 3)
    with pytest.raises(read_errors()):
        FrameReader(damaged, info, SIZE).read(indices)
    frames = FrameReader(damaged, info, SIZE, sampled=indices).read_each(indices)
    lost = [int(i) for i, frame in zip(indices, frames) if frame is None]
    assert 0 < len(lost) <= 12 and lost[-1] - lost[0] < 45
    sound = every_frame(original)
    before = [position for position, index in enumerate(indices) if index < lost[0] - 10]
    assert before and all(np.array_equal(frames[p], sound[indices[p]]) for p in before)
