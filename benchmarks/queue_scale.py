"""How the queue scales: N `ergo worker` processes x M trivial jobs on LocalStack, and what a job costs in requests.

    .venv/bin/python benchmarks/queue_scale.py --workers 1 4 16 32 --jobs 2000

For each worker count: a fresh bucket; the jobs are enqueued as a backlog;
then the workers start; every request they make passes through a counting
proxy (``tests.fault_proxy.S3Proxy``, no faults).  Printed per run: jobs per
second (from the workers' start, start-up included, until no job is open),
storage requests per job by
kind (what a job costs in R2 operations: PUT, GET, LIST, DELETE, HEAD), and
failed compare-and-swaps per claim (412 answers to conditional writes).
Enqueue costs are counted separately (the client's requests).  Workers run
with ERGO_STATUS_WRITE_INTERVAL=0: the 2 s per-key throttle would measure
waiting, not the engine.  Starts LocalStack itself unless ERGO_TEST_S3_ENDPOINT
names a running one (``make test`` builds its environment).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ergo_tasks import TaskApp, TaskSettings  # noqa: E402
from statestore.s3 import S3Store  # noqa: E402
from tests.fault_proxy import S3Proxy  # noqa: E402

KINDS = ("PUT", "GET", "LIST", "DELETE", "HEAD")


def _store(endpoint: str, bucket: str) -> S3Store:
    return S3Store(bucket, provider="localstack", endpoint_url=endpoint, region="us-east-1", access_key_id="test",
                   secret_access_key="test")


def _worker(proxy: S3Proxy, bucket: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORAGE_", "S3_", "ERGO_", "AWS_"))}
    env.update(PYTHONPATH=str(REPO), STORAGE_PROVIDER="localstack", AWS_ENDPOINT_URL=proxy.url, S3_BUCKET_NAME=bucket,
               AWS_EC2_METADATA_DISABLED="true", ERGO_STATUS_WRITE_INTERVAL="0", ERGO_POLL_SECONDS="1", ERGO_LOG_FORMAT="json",
               ERGO_LOG_LEVEL="WARNING", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", "worker", "-I", "benchmarks.scale_tasks"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(endpoint: str, workers: int, jobs: int) -> dict:
    bucket = f"ergo-scale-{uuid.uuid4().hex[:10]}"
    _store(endpoint, bucket).create_bucket()
    with S3Proxy(endpoint) as worker_proxy, S3Proxy(endpoint) as client_proxy:
        # A backlog: every job is queued before the first worker starts, so N workers meet N-deep work.
        client = TaskApp(store=_store(client_proxy.url, bucket), settings=TaskSettings(status_write_interval=0))
        enqueue_started = time.monotonic()
        for index in range(jobs):
            client.send_task("bench.noop", [index])
        enqueue_s = time.monotonic() - enqueue_started
        enqueue_requests = sum(client_proxy.requests[kind] for kind in KINDS)
        started = time.monotonic()  # worker start-up (about 1 s a process on 2 cores) is part of the time
        processes = [_worker(worker_proxy, bucket) for _ in range(workers)]
        while client.jobs.open_job_ids():
            time.sleep(0.5)
        finished = time.monotonic()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    work = {kind: worker_proxy.requests[kind] / jobs for kind in KINDS}
    return {"workers": workers, "jobs": jobs, "jobs_per_s": jobs / (finished - started), "enqueue_s": enqueue_s,
            "requests_per_job": sum(work.values()), **{f"{kind.lower()}_per_job": value for kind, value in work.items()},
            "enqueue_requests_per_job": enqueue_requests / jobs,
            "failed_cas_per_claim": worker_proxy.conditional_refusals / jobs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    from tests.localstack import running_localstack  # test infrastructure: starts LocalStack without Docker

    with running_localstack() as endpoint:
        header = ["workers", "jobs/s", "req/job", "PUT", "GET", "LIST", "DELETE", "HEAD", "enqueue req/job", "failed CAS/claim"]
        print(" | ".join(header))
        for workers in args.workers:
            r = run(endpoint, workers, args.jobs)
            print(" | ".join([f"{r['workers']}", f"{r['jobs_per_s']:.1f}", f"{r['requests_per_job']:.2f}",
                              *[f"{r[f'{kind.lower()}_per_job']:.2f}" for kind in KINDS],
                              f"{r['enqueue_requests_per_job']:.2f}", f"{r['failed_cas_per_claim']:.3f}"]), flush=True)


if __name__ == "__main__":
    main()
