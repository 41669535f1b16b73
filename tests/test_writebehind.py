"""Checkpoints are written behind the computation: a slow bucket does not stall the pose model."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pipeline.analysis import AnalysisOptions, ChunkResult, analyze_video
from pipeline.pose.base import COCO_KEYPOINTS, PoseModel, PoseOutput
from pipeline.presets import get_preset
from pipeline.synthetic import make_video

CHUNK = 4


class CountingModel(PoseModel):
    """Finds nobody; counts the chunks it was given, so a test can wait for the next one."""

    name = "counting"
    keypoint_names = COCO_KEYPOINTS
    max_persons = 1
    min_person_score = 0.5
    batch_size = CHUNK

    def __init__(self):
        self.chunks = 0
        self.changed = threading.Condition()

    def predict(self, frames: np.ndarray) -> PoseOutput:
        with self.changed:
            self.chunks += 1
            self.changed.notify_all()
        return PoseOutput.empty(len(frames), 1, len(COCO_KEYPOINTS))

    def wait_for(self, chunks: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.chunks >= chunks, timeout)


class SlowBucket:
    """Checkpoints whose write of chunk ``i`` returns only once the model has started chunk ``i + 1``."""

    def __init__(self, model: CountingModel, total: int, fail_at: int | None = None):
        self.model, self.total, self.fail_at = model, total, fail_at
        self.saved: dict[int, ChunkResult] = {}
        self.overlapped: list[bool] = []
        self.threads: set[str] = set()

    def load(self, fingerprint: str, only: range | None = None) -> dict[int, ChunkResult]:
        return {}

    def save(self, chunk: ChunkResult) -> None:
        self.threads.add(threading.current_thread().name)
        if chunk.index == self.fail_at:
            raise ConnectionError("the bucket went away")
        if chunk.index + 1 < self.total:  # written in line, this would wait for a chunk that never comes
            self.overlapped.append(self.model.wait_for(chunk.index + 2, timeout=10))
        self.saved[chunk.index] = chunk


@pytest.fixture
def video(tmp_path):
    # 30 frames at 10 fps, 2 sampled per second at `low`: 6 frames, chunks of 4 -> 2 chunks; 60 frames -> 3
    return make_video(tmp_path / "clip.mp4", frames=60, fps=10)


def options() -> AnalysisOptions:
    return AnalysisOptions(get_preset("low"), chunk_size=CHUNK)


def test_checkpoints_are_written_while_the_next_chunk_is_computed(video):
    model = CountingModel()
    bucket = SlowBucket(model, total=3)
    result = analyze_video(video, model, options(), checkpoints=bucket)
    assert sorted(bucket.saved) == [0, 1, 2]  # every write done by the time the analysis returns
    assert bucket.overlapped == [True, True]  # each write waited for the next chunk's computation, and saw it
    assert bucket.threads == {"checkpoint-writer"}
    assert len(result.frame_indices) == 12


def test_a_failed_write_fails_the_analysis_and_nothing_is_written_after_it(video):
    model = CountingModel()
    bucket = SlowBucket(model, total=3, fail_at=0)
    with pytest.raises(ConnectionError, match="the bucket went away"):
        analyze_video(video, model, options(), checkpoints=bucket)
    assert bucket.saved == {}


def test_an_error_in_the_analysis_is_reported_and_queued_writes_still_land(video):
    class Failing(CountingModel):
        def predict(self, frames: np.ndarray) -> PoseOutput:
            if self.chunks == 2:
                raise RuntimeError("the model broke")
            return super().predict(frames)

    model = Failing()

    class Recording(SlowBucket):
        def save(self, chunk: ChunkResult) -> None:
            self.saved[chunk.index] = chunk

    bucket = Recording(model, total=3)
    with pytest.raises(RuntimeError, match="the model broke"):
        analyze_video(video, model, options(), checkpoints=bucket)
    assert sorted(bucket.saved) == [0, 1]  # the finished chunks are kept for the next attempt
