"""Failure alerts from every path a job can fail by: a worker, the RunPod handler, a lost lease, a time limit."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ergo_tasks import Middleware, State
from ergo_tasks.analysis import ANALYZE_TASK, TASK_MODULES
from ergo_tasks.analysis.keys import upload_key
from tests.fakes import RecordingServer
from tests.helpers import make_app, mp4_lookalike, storage_env, wait_for


class Heard(Middleware):
    def __init__(self):
        self.docs = []

    def after_process(self, app, doc):
        self.docs.append(doc)


def test_a_time_limit_failure_reaches_the_middleware(local_store):
    app = make_app(local_store)
    heard = Heard()
    app.middleware.add(heard)

    @app.task(bind=True, time_limit=0.2, max_retries=0)
    def slow(self):
        while True:
            time.sleep(0.05)
            self.check()

    job = slow.delay()
    assert job.state == State.FAILURE
    assert [(doc.job_id, doc.error.type) for doc in heard.docs] == [(job.id, "TimeLimitExceeded")]


def test_a_lost_workers_job_reaches_the_middleware_once(local_store):
    app = make_app(local_store, eager=False, lease_seconds=0.3, heartbeat_seconds=0.1)
    heard = Heard()
    app.middleware.add(heard)
    job = app.queue.enqueue("t", [], {}, max_retries=0)
    app.queue.claim("doomed", job_id=job.job_id)
    time.sleep(0.4)  # the worker died: its lease runs out
    assert app.queue.claim("rescuer") is None
    assert app.queue.claim("another") is None  # a second look changes nothing and tells nobody
    assert [(doc.state, doc.error.type) for doc in heard.docs] == [(State.FAILURE, "WorkerLost")]


def test_the_webhook_hears_of_a_lost_worker_through_a_status_read(s3_store, monkeypatch):
    from ergo_tasks.analysis import AnalysisSettings, register
    from ergo_tasks.service.actions import build_service
    from ergo_tasks.service.settings import ServiceSettings

    with RecordingServer() as hook:
        app = make_app(s3_store, eager=False, lease_seconds=0.3, heartbeat_seconds=0.1)
        register(app, AnalysisSettings(webhook_url=f"{hook.url}/alerts"))
        service = build_service(app, ServiceSettings(dispatch_mode="worker"))
        key = upload_key("clip.mp4")
        s3_store.put(key, mp4_lookalike(100))
        job_id = service.handle_event({"input": {"action": "start_processing", "video_key": key}})["job_id"]
        for attempt in range(3):  # the analysis may be tried three times; every worker dies
            app.queue.claim(f"doomed-{attempt}", job_id=job_id)
            time.sleep(0.4)
            status = service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["job_status"]
        assert status["status"] == "failed" and status["error_type"] == "WorkerLost"
        texts = [request["body"]["text"] for request in hook.requests]
    assert len(texts) == 1 and job_id in texts[0] and "failed: The job's worker stopped responding" in texts[0]


@pytest.mark.slow
def test_ergo_worker_sends_the_alert_of_a_failed_analysis(local_store, tmp_path):
    app = make_app(local_store, eager=False, tasks=TASK_MODULES)
    key = upload_key("notes.mp4")
    local_store.put(key, b"not a video\n" * 100)
    job = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, "quality": "low"})
    with RecordingServer() as hook:
        env = storage_env(local_store, ERGO_WEBHOOK_URL=f"{hook.url}/alerts", ERGO_POSE_MODEL="keypointrcnn",
                          ERGO_POSE_WEIGHTS="random", ERGO_POLL_SECONDS="0.1", ERGO_STATUS_WRITE_INTERVAL="0.1")
        worker = subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: hook.requests, timeout=120, interval=0.2)
        finally:
            worker.terminate()
            _, errors = worker.communicate(timeout=60)
    assert job.state == State.FAILURE, errors[-2000:]
    text = hook.requests[0]["body"]["text"]
    assert job.id in text and "failed: The file is not a readable video" in text
