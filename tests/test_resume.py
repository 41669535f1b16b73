"""A worker killed mid-analysis: the job resumes from its checkpoints and gives the same result."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from ergo_tasks import State
from ergo_tasks.analysis import ANALYZE_TASK, register
from ergo_tasks.analysis.keys import upload_key
from pipeline.result_model import AnalysisResult
from pipeline.results import load_result
from pipeline.synthetic import make_video
from tests.helpers import make_app, storage_env, wait_for

pytestmark = pytest.mark.slow

CHUNKS = 8
KWARGS = {"quality": "low", "model": "keypointrcnn", "weights": "random", "chunk_size": 3}  # 24 sampled frames -> 8 chunks


def _worker(store) -> subprocess.Popen:
    env = storage_env(store, ERGO_LEASE_SECONDS="3", ERGO_HEARTBEAT_SECONDS="0.5", ERGO_STATUS_WRITE_INTERVAL="0.1",
                      ERGO_POLL_SECONDS="0.2", ERGO_LOG_FORMAT="json")
    return subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _chunks_logged(stderr: str, job_id: str) -> list[int]:
    chunks = []
    for line in stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "chunk.done" and event.get("job_id") == job_id:
            chunks.append(event["chunk"])
    return chunks


def _result(store, doc) -> AnalysisResult:
    return load_result(store.get(doc.result_keys["pkl"]).body)


def test_sigkill_then_resume_gives_the_uninterrupted_result(s3_store, tmp_path):
    video = make_video(tmp_path / "long.mp4", frames=120, width=96, height=64, fps=10)
    key = upload_key(video.name)
    s3_store.upload_file(key, video)
    app = make_app(s3_store, eager=False)
    register(app)

    job = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, **KWARGS})
    prefix = f"checkpoints/{job.id}/chunk-"
    doomed = _worker(s3_store)
    wait_for(lambda: len(list(s3_store.list(prefix))) >= 2, timeout=180, interval=0.02)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    saved = sorted(int(info.key[len(prefix):].split(".")[0].split("-")[0]) for info in s3_store.list(prefix))
    saved_at_kill = len(saved)
    assert 2 <= saved_at_kill < CHUNKS, "the kill must land mid-job"
    first_log = doomed.stderr.read()

    rescuer = _worker(s3_store)
    try:
        wait_for(lambda: job.status_doc.state == State.SUCCESS, timeout=240, interval=0.2)
    finally:
        rescuer.send_signal(signal.SIGTERM)
        second_log = rescuer.communicate(timeout=60)[1]
    doc = job.status_doc
    assert doc.attempts == 2 and any("lost: lease expired" in step.reason for step in doc.history)

    # a chunk is done once its checkpoint is saved; the kill may land before its log line is written
    first = sorted(set(_chunks_logged(first_log, job.id)) | set(saved))
    processed = first + _chunks_logged(second_log, job.id)
    assert sorted(set(processed)) == list(range(CHUNKS))
    assert len(processed) - CHUNKS <= 1, f"re-processed more than one chunk: {processed}"
    assert min(_chunks_logged(second_log, job.id)) >= saved_at_kill - 1

    reference_job = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, **KWARGS})
    app.run_until_ready(reference_job.id, "reference")
    resumed, reference = _result(s3_store, doc), _result(s3_store, reference_job.status_doc)
    np.testing.assert_array_equal(resumed.frame_indices, reference.frame_indices)
    np.testing.assert_array_equal(resumed.keypoints, reference.keypoints)
    for group, got, want in (("angles", resumed.angles, reference.angles), ("rula", resumed.rula.columns(), reference.rula.columns()),
                             ("reba", resumed.reba.columns(), reference.reba.columns())):
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{group}.{name}")
    assert resumed.summary == reference.summary
