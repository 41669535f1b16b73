"""Progress of a job, relayed to whoever runs it as a request (RunPod's ``progress_update``).

RunPod shows a request's progress in its console and answers it to ``/status``;
the status document stays the source of truth, this is a courtesy to the
platform.  Reports are thinned out: one per ``every`` seconds, or when the stage
changes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from ..app import TaskApp
from ..middleware import Middleware

Report = Callable[[dict], None]


class ProgressRelay(Middleware):
    def __init__(self, every: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.every, self.clock = every, clock
        self._listeners: dict[str, tuple[Report, list]] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def listening(self, job_id: str, report: Report | None) -> Iterator[None]:
        """While the block runs, progress of ``job_id`` goes to ``report`` too."""
        if report is None:
            yield
            return
        with self._lock:
            self._listeners[job_id] = (report, [float("-inf"), None])  # last sent: time, stage
        try:
            yield
        finally:
            with self._lock:
                self._listeners.pop(job_id, None)

    def on_progress(self, app: TaskApp, job_id: str, progress: float | None, stage: str | None) -> None:
        with self._lock:
            listener = self._listeners.get(job_id)
            if listener is None:
                return
            report, last = listener
            now = self.clock()
            if now - last[0] < self.every and stage in (None, last[1]):
                return
            last[0], last[1] = now, stage if stage is not None else last[1]
        report({"job_id": job_id, "progress": progress, "stage": last[1]})
