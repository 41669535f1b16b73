"""Real `ergo worker` processes against a real LocalStack S3."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ergo_tasks import State
from tests.helpers import ergo_process, make_app, storage_env, wait_for

pytestmark = pytest.mark.slow


def start_worker(store, **settings: str) -> subprocess.Popen:
    env = storage_env(store, ERGO_POLL_SECONDS="0.1", ERGO_STATUS_WRITE_INTERVAL="0.05", ERGO_LOG_FORMAT="json", **settings)
    return subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", "worker", "-I", "tests.sample_tasks"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=timeout)


def executions(store, prefix: str) -> list[str]:
    return [info.key for info in store.list(prefix)]


def test_eight_workers_run_a_hundred_jobs_exactly_once(s3_store):
    app = make_app(s3_store, eager=False)
    jobs = [app.send_task("tests.record_execution", [f"job-{index:03d}"]) for index in range(100)]
    workers = [start_worker(s3_store, ERGO_LEASE_SECONDS="30", ERGO_HEARTBEAT_SECONDS="5") for _ in range(8)]
    try:
        wait_for(lambda: not app.jobs.open_job_ids(), timeout=240, interval=0.5)
    finally:
        codes = [stop(worker) for worker in workers]
    assert codes == [0] * 8, [worker.stderr.read()[-2000:] for worker in workers]
    counts = collections.Counter(key.split("/")[1] for key in executions(s3_store, "executions/"))
    assert len(counts) == 100 and set(counts.values()) == {1}
    docs = [job.status_doc for job in jobs]
    assert all(doc.state == State.SUCCESS and doc.attempts == 1 for doc in docs)
    assert len({doc.history[1].worker for doc in docs}) > 1  # the work really was spread


def test_a_killed_workers_job_is_requeued_and_finished_by_another(s3_store):
    app = make_app(s3_store, eager=False)
    job = app.send_task("tests.steps", [25, 0.1])
    settings = dict(ERGO_LEASE_SECONDS="2", ERGO_HEARTBEAT_SECONDS="0.3")
    doomed = start_worker(s3_store, **settings)
    try:
        wait_for(lambda: job.status_doc.meta.get("step", -1) >= 4, timeout=60)
        checkpoint_at_kill = int(job.status_doc.checkpoint)
    finally:
        stop(doomed, signal.SIGKILL)
    rescuer = start_worker(s3_store, **settings)
    try:
        result = job.get(timeout=120)
    finally:
        assert stop(rescuer) == 0
    doc = job.status_doc
    assert doc.state == State.SUCCESS and doc.attempts == 2
    assert any(step.to_state == State.RETRY and "lost: lease expired" in step.reason for step in doc.history)
    assert result["resumed_from"] >= checkpoint_at_kill + 1
    done = executions(s3_store, f"executions/steps/{job.id}/")
    steps = collections.Counter(key.rsplit("/", 1)[1].split("-", 1)[0] for key in done)
    assert sorted(steps) == [f"{step:04d}" for step in range(25)]  # every step done, none skipped
    assert sum(steps.values()) - 25 <= 2  # at most the steps after the last saved checkpoint were redone


def test_sigterm_releases_the_running_job_cleanly(s3_store):
    app = make_app(s3_store, eager=False)
    job = app.send_task("tests.steps", [200, 0.05])
    worker = start_worker(s3_store, ERGO_SHUTDOWN_GRACE_SECONDS="0", ERGO_LEASE_SECONDS="30", ERGO_HEARTBEAT_SECONDS="1")
    wait_for(lambda: job.status_doc.checkpoint is not None, timeout=60)
    started = time.monotonic()
    assert stop(worker) == 0
    assert time.monotonic() - started < 10
    doc = job.status_doc
    assert doc.state == State.PENDING and doc.lease is None and doc.checkpoint is not None
    assert "shutting down" in doc.history[-1].reason


def test_sigterm_stops_a_worker_whose_task_is_writing_a_log_line(s3_store, tmp_path):
    """The signal comes while the task's thread writes (and holds the logger's lock): a handler that logged, or took
    any lock, would wait for that lock forever, and the worker would never stop (the first try hung, before the fix).
    Tried three times: each signal lands at a random point of the task's loop, most of them inside a write."""
    app = make_app(s3_store, eager=False)
    env = storage_env(s3_store, ERGO_POLL_SECONDS="0.1", ERGO_LOG_FORMAT="json", ERGO_SHUTDOWN_GRACE_SECONDS="0",
                      ERGO_LEASE_SECONDS="30", ERGO_HEARTBEAT_SECONDS="1")
    for attempt in range(3):
        job, log = app.send_task("tests.chatter", [120.0]), tmp_path / f"worker-{attempt}.log"
        with ergo_process(["worker", "-I", "tests.sample_tasks"], env, log, stop_within=20) as worker:
            wait_for(lambda log=log: log.read_bytes().count(b"tests.chatter") > 200, timeout=60)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0
        doc = job.status_doc
        assert doc.state == State.PENDING and "shutting down" in doc.history[-1].reason
        assert b'"worker.stopping"' in log.read_bytes()  # logged by the worker, not by the handler
        app.queue.revoke(job.id)


def test_a_signal_delivered_twice_at_once_is_one_request_and_a_later_one_leaves_now(s3_store, tmp_path):
    """Ctrl-C reaches a pool's children from the terminal and from the pool within milliseconds: that is one request to
    stop (the job goes on within its grace), where a signal a second later means leave now (128 + SIGTERM)."""
    app = make_app(s3_store, eager=False)
    job = app.send_task("tests.steps", [200, 0.05])
    env = storage_env(s3_store, ERGO_POLL_SECONDS="0.1", ERGO_LOG_FORMAT="json", ERGO_SHUTDOWN_GRACE_SECONDS="30",
                      ERGO_LEASE_SECONDS="30", ERGO_HEARTBEAT_SECONDS="1")
    with ergo_process(["worker", "-I", "tests.sample_tasks"], env, tmp_path / "worker.log", stop_within=20) as worker:
        wait_for(lambda: job.status_doc.checkpoint is not None, timeout=60)
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.01)
        worker.send_signal(signal.SIGTERM)
        step = int(job.status_doc.checkpoint)
        wait_for(lambda: int(job.status_doc.checkpoint) >= step + 5, timeout=20)  # still working, within its grace
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 128 + signal.SIGTERM
    doc = job.status_doc
    assert doc.state in (State.STARTED, State.PROGRESS) and doc.lease is not None  # left to its lease, as a kill would


def _children(process: subprocess.Popen) -> set[int]:
    """The pool's worker processes (not multiprocessing's resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(process.pid), "-f", "spawn_main"], capture_output=True, text=True).stdout.split()
    return {int(pid) for pid in found}


def test_the_pool_replaces_a_child_that_died_with_a_log_line_and_an_alert(local_store):
    """`ergo worker -c 2` never replaced an OOM-killed child: the pool silently shrank (RQ's WorkerPool replaces it)."""
    from tests.fakes import RecordingServer

    with RecordingServer() as hook:
        env = storage_env(local_store, ERGO_POLL_SECONDS="0.1", ERGO_LOG_FORMAT="json", ERGO_WEBHOOK_URL=f"{hook.url}/alerts")
        pool = subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", "worker", "-c", "2", "-I", "tests.sample_tasks"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: len(_children(pool)) == 2, timeout=60, interval=0.2)
            first = _children(pool)
            victim = min(first)
            os.kill(victim, signal.SIGKILL)  # what the kernel's OOM killer does
            wait_for(lambda: len(_children(pool)) == 2 and victim not in _children(pool), timeout=60, interval=0.2)
            wait_for(lambda: hook.requests, timeout=30, interval=0.2)
            app = make_app(local_store, eager=False)
            jobs = [app.send_task("tests.record_execution", [f"after-{n}"]) for n in range(4)]
            wait_for(lambda: all(job.status_doc.state == State.SUCCESS for job in jobs), timeout=120, interval=0.3)
        finally:
            code = stop(pool)
            log = pool.stderr.read()
        assert code == 0, log[-2000:]
        died = [json.loads(line) for line in log.splitlines() if '"worker.child_died"' in line]
        assert len(died) == 1 and died[0]["level"] == "error" and died[0]["signal"] == "SIGKILL", log[-2000:]
        alert = hook.requests[0]["body"]
        assert "SIGKILL" in alert["text"] and "replaced" in alert["text"]
