"""The folder a job's files live in on a worker's disk while it runs, and the sweep of those a dead worker left.

A job downloads its video (up to the upload limit, 10 GB) and writes its
result files into a private folder under the system's temporary directory,
removed when the job ends.  A worker killed mid-job (out of memory, SIGKILL,
a lost machine) cannot remove it, and a machine that keeps running workers
would fill its disk.  So each folder holds a lock while its job uses it, and a
worker that starts removes the folders whose lock is free: their job's
process is gone.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from ..app import TaskApp
from ..middleware import Middleware

log = structlog.get_logger(__name__)

PREFIX = "ergo-job-"
LOCK = ".lock"
#: A folder younger than this is left alone even with a free lock: its job may be creating it right now.
GRACE_S = 60.0


@contextmanager
def scratch_folder(root: Path | None = None) -> Iterator[Path]:
    """A private folder for one job, locked for as long as the job uses it, removed at the end."""
    with tempfile.TemporaryDirectory(prefix=PREFIX, dir=root) as folder, open(Path(folder) / LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield Path(folder)


def sweep(root: Path | None = None, grace_s: float = GRACE_S) -> int:
    """Remove the job folders under ``root`` (the temporary directory) that no live process holds; how many."""
    removed = 0
    for folder in Path(root or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            if not folder.is_dir() or time.time() - folder.stat().st_mtime < grace_s:
                continue
            with open(folder / LOCK, "a") as lock:  # a folder from before the locks gets one, free
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a running job's
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue  # removed meanwhile, or not ours to touch
    return removed


class ScratchSweep(Middleware):
    """Sweeps the job folders dead workers left, when a worker starts."""

    def after_worker_boot(self, app: TaskApp) -> None:
        removed = sweep()
        if removed:
            log.info("scratch.swept", folders=removed)
