"""Every common video is read: a matrix of the codecs and containers people upload (`tests/codec_clips.py`).

For each clip: the reader chosen is the one proven for its codec, every frame comes out as a full decode by FFmpeg
(PyAV) gives it (whichever reader, in one batch, chunk by chunk as the analysis samples, and back and forth as
parts and resumes read), the frames are numbered in presentation order with the times they were written at, and
no frame is lost.  The clips are written in a process of their own (see `tests/codec_clips.py` for why).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.pyav_reader import PacketIndex
from pipeline.video import FrameReader, frame_times_us, probe
from tests.codec_clips import CLIPS, Clip, frame_times

REPO = Path(__file__).resolve().parent.parent

#: The clips decord reads: 8-bit 4:2:0 H.264 and HEVC of even size, upright, without B-frames, in MP4/MOV or Matroska
#: (the design's choice where nothing can be skipped); PyAV reads all the others.
DECORD = {"h264-baseline.mp4", "h264-high.mkv", "hevc.mp4", "h264-vfr.mp4", "h264-322x242.mp4",
          "h264-aac.mp4", "h264-audio-first.mkv"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("codecs")
    done = subprocess.run([sys.executable, "-m", "tests.codec_clips", str(folder)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def full_decode(path: Path, rotation: int) -> tuple[np.ndarray, np.ndarray]:
    """Every frame as FFmpeg decodes it, in presentation order, RGB at the stored size and turned upright; and
    when each is shown, in seconds."""
    with av.open(str(path)) as container:
        frames = sorted(container.decode(video=0), key=lambda frame: frame.pts)
        rgb = np.stack([frame.to_ndarray(format="rgb24") for frame in frames])
        times = np.array([float(frame.time) for frame in frames])
    turns = rotation // 90
    return (np.ascontiguousarray(np.rot90(rgb, k=turns, axes=(1, 2))) if turns else rgb), times - times[0]


def reads(clip: Clip) -> list[list[np.ndarray]]:
    """How the analysis reads a video: every frame in one go; sampled frames (every 5th), chunk by chunk; and
    back and forth (a part primes on the chunk before its own, a resume starts mid-video)."""
    last = clip.frames - 1
    sampled = np.arange(0, clip.frames, 5)
    return [[np.arange(clip.frames)], [sampled[start:start + 2] for start in range(0, len(sampled), 2)],
            [np.array([last - 4, last]), np.array([0, 3]), np.array([clip.frames // 2])]]


@pytest.mark.parametrize("clip", CLIPS, ids=lambda clip: clip.name)
def test_every_frame_of_a_common_video_is_read_as_ffmpeg_decodes_it(clips, clip):
    path = clips / clip.name
    info = probe(path)
    assert info.reader == ("decord" if clip.name in DECORD else "pyav")
    stored = clip.size
    shown = stored[::-1] if clip.rotation in (90, 270) else stored
    assert (info.frame_count, info.rotation, (info.width, info.height)) == (clip.frames, clip.rotation, shown)
    reference, times = full_decode(path, clip.rotation)
    assert len(reference) == clip.frames
    assert np.allclose(times, np.array(frame_times(clip)) / 1000, atol=0.002)  # shown when they were written
    index = PacketIndex.of(path)  # how the PyAV reader numbers frames: by presentation time
    with av.open(str(path)) as container:
        time_base = float(container.streams.video[0].time_base)
    assert np.allclose((index.pts - index.pts[0]) * time_base, times, atol=1e-6)
    # the analysis times a frame by its number over the rate: exactly where the rate is constant, within a frame's
    # interval where it varies (VFR: the rate the timestamps show, not one frame's rate that Matroska declares)
    assert info.fps == pytest.approx((clip.frames - 1) / times[-1], rel=0.01)
    analysis_times = frame_times_us(np.arange(clip.frames), info.fps) / 1e6
    assert np.abs(analysis_times - times).max() < (1 / info.fps if clip.vfr else 0.002)
    for chunks in reads(clip):
        reader = FrameReader(path, info, shown, sampled=np.unique(np.concatenate(chunks)))
        for chunk in chunks:
            frames = reader.read_each(chunk)
            assert all(frame is not None for frame in frames), f"frames {list(chunk)} reported damaged"
            for number, frame in zip(chunk, frames, strict=True):
                assert np.array_equal(frame, reference[number]), f"frame {number} differs from FFmpeg's"
        assert reader.reader == info.reader and reader.fallbacks == []


@pytest.fixture
def decord_failing_late_in_each_gop(tmp_path, monkeypatch) -> Path:
    """A video decord reads, and decord failing from 12 frames after each keyframe (every 60) on, as it did on a
    real 1768x994 VP9 webm ("frames 12-54, 72-114, ... could not be decoded", while FFmpeg decodes every frame).
    The clips made here decord reads right: its failure is played by failing its reads where it failed there."""
    from pipeline.synthetic import make_video
    from pipeline.video import DECORDError

    video = make_video(tmp_path / "a.mp4", frames=120, width=96, height=64, fps=30, gop=60)
    assert probe(video).reader == "decord"
    read_decord = FrameReader._read_decord

    def failing(self, indices):
        if any(int(i) % 60 >= 12 for i in indices):
            raise DECORDError("Error getting frame")
        return read_decord(self, indices)

    monkeypatch.setattr(FrameReader, "_read_decord", failing)
    return video


def test_frames_decord_fails_on_mid_file_are_read_by_pyav_and_not_called_damaged(decord_failing_late_in_each_gop):
    video = decord_failing_late_in_each_gop
    sampled = np.arange(0, 120, 6)
    reader = FrameReader(video, probe(video), (96, 64), sampled=sampled)
    frames = [frame for start in range(0, len(sampled), 8) for frame in reader.read_each(sampled[start:start + 8])]
    assert all(frame is not None for frame in frames)
    reference, _ = full_decode(video, 0)
    assert all(np.array_equal(frame, reference[number]) for number, frame in zip(sampled, frames, strict=True))
    assert reader.reader == "decord" and reader.fallbacks == [int(n) for n in sampled if n % 60 >= 12]


def test_a_video_decord_cannot_start_on_is_read_by_pyav_and_the_frames_are_listed(tmp_path, monkeypatch):
    """decord failing on frame 0 (its resize fails at some sizes): PyAV reads the whole video, and every frame it
    read is listed, as the result must tell that the reader it names did not read them."""
    from pipeline.synthetic import make_video
    from pipeline.video import DECORDError

    video = make_video(tmp_path / "a.mp4", frames=20, width=96, height=64)

    def failing(self, indices):
        raise DECORDError("cannot resize")

    monkeypatch.setattr(FrameReader, "_read_decord", failing)
    reader = FrameReader(video, probe(video), (96, 64))
    frames = reader.read_each(np.array([0, 5, 10]))
    assert reader.reader == "pyav" and reader.fallbacks == [0, 5, 10]
    assert np.array_equal(np.stack(frames), full_decode(video, 0)[0][[0, 5, 10]])


def test_the_result_and_the_checkpoints_record_which_frames_pyav_read_for_decord(pose_models, decord_failing_late_in_each_gop):
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.analysis import AnalysisOptions, ChunkResult, MemoryCheckpoints, analyze_video
    from pipeline.pose import load_pose_model
    from pipeline.presets import PRESETS

    video = decord_failing_late_in_each_gop
    model = load_pose_model(AnalysisSettings().pose("blazepose"))
    options = AnalysisOptions(PRESETS["low"], chunk_size=3)  # 2 frames a second: 0, 15, 30, ... 105
    saved = MemoryCheckpoints()
    whole = analyze_video(video, model, options, checkpoints=saved)
    assert whole.video.reader == "decord" and whole.video.fallback_frames == [15, 30, 45, 75, 90, 105]
    assert whole.summary.damaged_spans == []
    assert [ChunkResult.from_bytes(chunk.to_bytes()).fallbacks.tolist() for chunk in saved.chunks.values()] == \
        [chunk.fallbacks.tolist() for chunk in saved.chunks.values()]
    resumed = analyze_video(video, model, options, checkpoints=MemoryCheckpoints({0: saved.chunks[0]}))
    assert resumed.video.fallback_frames == whole.video.fallback_frames


#: The real video of issue 24: Sports2D's demo, people filmed by a phone-style camera, 1768x994 VP9 in MP4.
#: decord failed on frames more than about 12 after each keyframe of it, and they were reported as damaged.
SPORTS2D_DEMO = {"wheel": "sports2d==0.8.34", "member": "Sports2D/Demo/demo.mp4", "clip": "sports2d-demo.mp4",
                 "sha256": "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039"}


def test_the_real_vp9_video_decord_misread_is_read_whole(tmp_path):
    import dataclasses

    from pipeline.analysis import AnalysisOptions, Plan
    from pipeline.presets import get_preset
    from tests.helpers import fetch_clip

    video = fetch_clip(SPORTS2D_DEMO, tmp_path)
    info = probe(video)
    assert (info.codec, info.width, info.height, info.reader) == ("vp9", 1768, 994, "pyav")
    plan = Plan.of(video, AnalysisOptions(get_preset("low")))
    assert all(frame is not None for frame in FrameReader(video, info, plan.size, plan.indices).read_each(plan.indices))
    # with decord, as probe chose before: it does fail on this video, and every frame it fails on is read by PyAV
    forced = FrameReader(video, dataclasses.replace(info, reader="decord"), plan.size, plan.indices)
    assert all(frame is not None for frame in forced.read_each(plan.indices))
    assert forced.fallbacks, "decord read every frame: the case this test stands for did not occur"
