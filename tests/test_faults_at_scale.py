"""The engine under storage faults and crashes, end to end: real `ergo worker` processes talk to LocalStack through a
proxy that breaks 5% of requests (resets before and after the server applied them, 500/503, slow answers)."""

from __future__ import annotations

import collections
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from ergo_tasks import State
from ergo_tasks.analysis import ANALYZE_TASK, register
from ergo_tasks.analysis.keys import upload_key
from pipeline.results import load_result
from pipeline.synthetic import make_video
from statestore import StoreError
from statestore.s3 import S3Store
from tests.fault_proxy import S3Proxy
from tests.helpers import make_app, storage_env, wait_for

pytestmark = pytest.mark.slow
FAULT_RATE = 0.05
WORKER_ENV = dict(ERGO_LEASE_SECONDS="4", ERGO_HEARTBEAT_SECONDS="0.5", ERGO_STATUS_WRITE_INTERVAL="0.1", ERGO_POLL_SECONDS="0.2",
                  ERGO_LOG_FORMAT="json", ERGO_POSE_MODEL="keypointrcnn", ERGO_POSE_WEIGHTS="random")


def _through(proxy: S3Proxy, store: S3Store) -> S3Store:
    return S3Store(store.bucket, provider="localstack", endpoint_url=proxy.url, region="us-east-1", access_key_id="test",
                   secret_access_key="test")


LOGS: list = []


def _worker(store: S3Store, proxy: S3Proxy, *modules: str) -> subprocess.Popen:
    env = storage_env(store, AWS_ENDPOINT_URL=proxy.url, **WORKER_ENV)
    command = [sys.executable, "-m", "ergo_tasks.cli", "worker", *[arg for module in modules for arg in ("-I", module)]]
    path = Path(tempfile.mkstemp(prefix="ergo-worker-", suffix=".log")[1])
    LOGS.append(path)
    with open(path, "w") as log:  # the child keeps its own handle
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)


def _failures() -> str:
    """The workers' task.failed lines, to say why a job failed."""
    lines = [line for path in LOGS for line in path.read_text().splitlines() if '"task.failed"' in line]
    return "\n".join(lines)[-4000:]


def _victim(app, workers: list, rng: random.Random) -> int | None:
    """A worker in the middle of a job that has an attempt to spare, if there is one: a job whose worker is killed
    on every one of its attempts rightly fails (WorkerLost), which is not what this test is about."""
    spare = set()
    for job_id in app.jobs.open_job_ids():
        doc = app.jobs.read(job_id).doc
        if doc.lease is not None and doc.attempts <= doc.max_retries:  # this attempt lost, another remains
            spare.add(doc.lease.worker_id.rsplit("-", 1)[-1])  # worker ids end with the worker's pid
    candidates = [index for index, worker in enumerate(workers) if str(worker.pid) in spare]
    return rng.choice(candidates) if candidates else None


def _enqueue_like_a_client(app, name: str, args: list, key: str, kwargs: dict | None = None, attempts: int = 5):
    """Submit with an idempotency key, retrying after an error the way a client does: it must get one job."""
    for attempt in range(attempts):
        try:
            return app.send_task(name, args, kwargs, idempotency_key=key)
        except StoreError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def test_eight_workers_and_a_hundred_jobs_through_storage_faults(s3_store):
    with S3Proxy(s3_store.endpoint_url, fault_rate=FAULT_RATE, seed=12, slow_s=0.3) as proxy:
        client = make_app(_through(proxy, s3_store), eager=False)
        jobs = [_enqueue_like_a_client(client, "tests.record_execution", [f"job-{index:03d}"], f"client-1:job-{index:03d}")
                for index in range(100)]
        workers = [_worker(s3_store, proxy, "tests.sample_tasks") for _ in range(8)]
        direct = make_app(s3_store, eager=False)
        try:
            wait_for(lambda: not direct.jobs.open_job_ids(), timeout=300, interval=0.5)
        finally:
            _stop(workers)
    ids = list(direct.jobs.job_ids())
    docs = [direct.jobs.read(job_id).doc for job_id in ids]  # a damaged document would raise here
    assert sorted(ids) == sorted(job.id for job in jobs) and len(ids) == 100  # none lost, none doubled
    assert all(doc.state == State.SUCCESS for doc in docs)  # none stuck or failed
    runs = collections.Counter(key.split("/")[1] for key in (info.key for info in s3_store.list("executions/")))
    assert len(runs) == 100 and set(runs.values()) == {1}  # a storage fault never causes a second run
    print(f"faults injected: {dict(proxy.injected)} in {sum(proxy.requests.values())} forwarded requests")
    assert proxy.injected["reset_after"] > 0 and sum(proxy.injected.values()) >= 0.02 * sum(proxy.requests.values())


def test_analyses_survive_storage_faults_and_killed_workers_with_identical_results(s3_store, tmp_path):
    videos = [make_video(tmp_path / f"clip{index}.mp4", frames=30 + 10 * index, width=96, height=64, fps=10) for index in range(4)]
    keys = [upload_key(video.name) for video in videos]
    for key, video in zip(keys, videos):
        s3_store.upload_file(key, video)
    options = {"quality": "low", "model": "keypointrcnn", "weights": "random", "chunk_size": 3}

    reference = make_app(s3_store)  # eager, no faults, no crashes
    register(reference)
    expected = [load_result(s3_store.get(reference.send_task(ANALYZE_TASK, kwargs={"video_key": key, **options}).status_doc
                                         .result_keys["pkl"]).body) for key in keys]

    rng = random.Random(5)
    with S3Proxy(s3_store.endpoint_url, fault_rate=FAULT_RATE, seed=3, slow_s=0.3) as proxy:
        client = make_app(_through(proxy, s3_store), eager=False)
        register(client)
        jobs = [_enqueue_like_a_client(client, ANALYZE_TASK, [], f"client-2:{key}", {"video_key": key, **options}) for key in keys]
        direct = make_app(s3_store, eager=False)
        workers = [_worker(s3_store, proxy) for _ in range(2)]
        kills, deadline = 0, time.monotonic() + 400
        try:
            while direct.jobs.open_job_ids() and time.monotonic() < deadline:
                time.sleep(rng.uniform(2.0, 5.0))
                victim = _victim(direct, workers, rng) if kills < 3 else None
                if victim is not None:  # a worker dies mid-job, as a machine does; a new one starts
                    workers[victim].send_signal(signal.SIGKILL)
                    workers[victim].wait()
                    workers[victim] = _worker(s3_store, proxy)
                    kills += 1
        finally:
            _stop(workers)
    docs = [direct.jobs.read(job.id).doc for job in jobs]
    assert [doc.state for doc in docs] == [State.SUCCESS] * 4, _failures() or [(doc.error, [t.reason for t in doc.history]) for doc in docs]
    for doc, want in zip(docs, expected):
        got = load_result(s3_store.get(doc.result_keys["pkl"]).body)
        np.testing.assert_array_equal(got.keypoints, want.keypoints)
        np.testing.assert_array_equal(got.rula.grand_score, want.rula.grand_score)
        np.testing.assert_array_equal(got.reba.reba_score, want.reba.reba_score)
    print(f"faults injected: {dict(proxy.injected)}; workers killed: {kills}")
    assert kills >= 1 and sum(proxy.injected.values()) > 0
