"""Cross-cutting behaviour around a job's run, as in Dramatiq: small objects with hooks.

A middleware overrides the hooks it needs::

    class Timing(Middleware):
        def before_process(self, app, doc):
            log.info("job.begins", job_id=doc.job_id)

        def after_process(self, app, doc):
            if doc.ready:
                log.info("job.done", job_id=doc.job_id, seconds=doc.run_seconds)

    app.middleware.add(Timing())

Hooks run in the worker that runs the job.  A hook that raises is logged and
skipped: middleware never changes a job's outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from .status import JobStatus

if TYPE_CHECKING:
    from .app import TaskApp

log = structlog.get_logger(__name__)


class Middleware:
    """Base class: every hook does nothing."""

    def before_process(self, app: TaskApp, doc: JobStatus) -> None:
        """The job was claimed and its task is about to run (``doc`` as claimed)."""

    def after_process(self, app: TaskApp, doc: JobStatus) -> None:
        """An attempt ended; ``doc`` is the status it left (``doc.ready`` once the job is finished)."""

    def on_progress(self, app: TaskApp, job_id: str, progress: float | None, stage: str | None) -> None:
        """The running task reported progress (``update_state``), in the task's own thread: keep it quick."""

    def after_worker_boot(self, app: TaskApp) -> None:
        """A worker is about to look for its first job: the place for start-up costs (imports, say), which
        would otherwise fall on the first job it runs."""

    def on_worker_lost(self, app: TaskApp, worker: str, cause: str) -> None:
        """A worker pool's child process died unasked (``cause``: how) and was replaced: the place for an alert."""


class MiddlewareStack:
    """The app's middleware, called in the order they were added."""

    def __init__(self) -> None:
        self._items: list[Middleware] = []

    def add(self, middleware: Middleware) -> None:
        self._items.append(middleware)

    def __iter__(self):
        return iter(self._items)

    def before_process(self, app: TaskApp, doc: JobStatus) -> None:
        self._call("before_process", app, doc)

    def after_process(self, app: TaskApp, doc: JobStatus) -> None:
        self._call("after_process", app, doc)

    def on_progress(self, app: TaskApp, job_id: str, progress: float | None, stage: str | None) -> None:
        self._call("on_progress", app, job_id, progress, stage)

    def after_worker_boot(self, app: TaskApp) -> None:
        self._call("after_worker_boot", app)

    def on_worker_lost(self, app: TaskApp, worker: str, cause: str) -> None:
        self._call("on_worker_lost", app, worker, cause)

    def _call(self, hook: str, app: TaskApp, *args) -> None:
        for middleware in self._items:
            try:
                getattr(middleware, hook)(app, *args)
            except Exception as error:  # noqa: BLE001 - a hook never changes the job's outcome
                log.warning("middleware.failed", middleware=type(middleware).__name__, hook=hook, error=str(error))
