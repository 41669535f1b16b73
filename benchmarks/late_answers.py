"""Exactly once when storage answers late: worker threads run tiny no-op jobs while a proxy holds back answers past the lease.

    .venv/bin/python benchmarks/late_answers.py --jobs 1000 --workers 8 --rate 0.04 --lease 2 --late 2.6

Every request of the workers passes ``tests.fault_proxy.S3Proxy``; with probability ``rate`` it is applied at
once and its answer held back ``late`` seconds, longer than the lease: the claim of a job whose answer comes
back late must not be run (another worker may have requeued it meanwhile), a renewal answered late stops
its task.  The jobs run in this process (one thread per worker, each with its own app and S3 client), so
every execution is counted in memory: a job that ran twice is counted whatever its storage said.  Printed:
requests forwarded, answers held back, conditional writes refused (412, lost compare-and-swaps), claims
handed back unrun, jobs run twice.  Starts LocalStack unless ERGO_TEST_S3_ENDPOINT names a running one;
``tests/test_fencing.py`` runs the same with 200 jobs.
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
import uuid
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import structlog  # noqa: E402

from ergo_tasks import TaskApp, TaskSettings  # noqa: E402
from ergo_tasks import queue as queue_module  # noqa: E402
from ergo_tasks.worker import Worker  # noqa: E402
from statestore.s3 import S3Store  # noqa: E402
from tests.fault_proxy import LATE, S3Proxy  # noqa: E402


def _store(endpoint: str, bucket: str, provider: str) -> S3Store:
    return S3Store(bucket, provider=provider, endpoint_url=endpoint, region="us-east-1", access_key_id="test",
                   secret_access_key="test")


class _Counts:
    """Executions per job, and the claims handed back unrun (from the engine's log events)."""

    def __init__(self) -> None:
        self.runs: collections.Counter[str] = collections.Counter()
        self.handed_back = 0
        self._lock = threading.Lock()

    def ran(self, job_id: str) -> None:
        with self._lock:
            self.runs[job_id] += 1

    def log_processor(self, _logger, _name, event: dict) -> dict:
        if event.get("event") == "queue.claim_lapsed":
            with self._lock:
                self.handed_back += 1
        return event


def run(endpoint: str, *, jobs: int, workers: int, rate: float, lease: float, late: float, provider: str = "localstack",
        seed: int = 26, timeout: float = 600.0) -> dict:
    """Run ``jobs`` no-op jobs on ``workers`` threads through late answers; returns the counts."""
    bucket = f"ergo-late-{uuid.uuid4().hex[:10]}"
    direct = _store(endpoint, bucket, provider)
    direct.create_bucket()
    counts = _Counts()
    settings = TaskSettings(lease_seconds=lease, heartbeat_seconds=lease / 4, status_write_interval=0, poll_seconds=0.05,
                            shutdown_grace_seconds=0)
    client = TaskApp(store=direct, settings=settings)
    ids = [client.send_task("late.noop", [index]).id for index in range(jobs)]
    previous = structlog.get_config()["processors"]
    structlog.configure(processors=[counts.log_processor, *previous])
    # the queue's module logger was assembled, and cached, with the processors of its first use: a fresh one sees the count
    fresh_log = mock.patch.object(queue_module, "log", structlog.get_logger(queue_module.__name__))
    fresh_log.start()
    started = time.monotonic()
    try:
        with S3Proxy(endpoint, fault_rate=rate, faults=(LATE,), late_s=late, seed=seed) as proxy:
            fleet = []
            for index in range(workers):
                app = TaskApp(store=_store(proxy.url, bucket, provider), settings=settings)
                app.task(name="late.noop", bind=True)(lambda self, _index: counts.ran(self.request.id))
                fleet.append(Worker(app, f"late-{index}"))
            threads = [threading.Thread(target=worker.run, daemon=True) for worker in fleet]
            for thread in threads:
                thread.start()
            while client.jobs.open_job_ids() and time.monotonic() - started < timeout:
                time.sleep(0.5)
            for worker in fleet:
                worker.request_stop()
            for thread in threads:
                thread.join(timeout=3 * late + 30)
    finally:
        fresh_log.stop()
        structlog.configure(processors=previous)
    states = collections.Counter(str(client.jobs.read(job_id).doc.state) for job_id in ids)
    return {"jobs": jobs, "seconds": time.monotonic() - started, "requests": sum(proxy.requests.values()),
            "late": proxy.injected[LATE], "refused": proxy.conditional_refusals, "handed_back": counts.handed_back,
            "doubled": [job_id for job_id in ids if counts.runs[job_id] > 1], "never_ran": sum(1 for job_id in ids if not counts.runs[job_id]),
            "states": dict(states), "bucket": bucket}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=0.04, help="share of requests whose answer is held back")
    parser.add_argument("--lease", type=float, default=2.0, help="seconds")
    parser.add_argument("--late", type=float, default=2.6, help="seconds an answer is held back (more than the lease)")
    args = parser.parse_args()
    from tests.localstack import running_localstack  # test infrastructure: starts LocalStack without Docker

    with running_localstack() as endpoint:
        r = run(endpoint, jobs=args.jobs, workers=args.workers, rate=args.rate, lease=args.lease, late=args.late)
    print(f"{r['jobs']} jobs on {args.workers} workers in {r['seconds']:.0f} s: {r['requests']} requests forwarded, "
          f"{r['late']} answered {args.late} s late (lease {args.lease} s), {r['refused']} conditional writes refused, "
          f"{r['handed_back']} claims handed back unrun, {len(r['doubled'])} jobs run twice, {r['never_ran']} never ran; "
          f"states {r['states']}")


if __name__ == "__main__":
    main()
