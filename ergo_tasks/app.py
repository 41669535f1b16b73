"""``TaskApp``: the registry of tasks plus the storage they are queued in (Celery's ``app``).

::

    app = TaskApp()

    @app.task(bind=True, max_retries=3, autoretry_for=(ConnectionError,))
    def add(self, x, y):
        self.update_state(state="PROGRESS", meta={"progress": 50, "stage": "adding"})
        return x + y

    result = add.delay(2, 3)       # enqueued as status/<job_id>.json
    result.get(timeout=60)         # 5, once a worker (`ergo worker`) ran it

With ``eager=True`` (``ERGO_EAGER=1``) ``delay`` runs the task at once in the
calling process, through the same claim / execute / status path as a worker.
A process builds its app once, through :func:`ergo_tasks.bootstrap.start`.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from statestore import ObjectStore, open_store

from .errors import TaskError
from .execution import execute
from .jobstore import JobStore
from .middleware import MiddlewareStack
from .queue import Queue
from .result import AsyncResult
from .settings import TaskSettings
from .states import CLAIMABLE_STATES
from .status import JobStatus
from .task import Task
from .timeutil import utcnow


class TaskApp:
    """Registry of tasks, their middleware, and the storage they are queued in."""

    def __init__(self, name: str = "ergo", *, store: ObjectStore | None = None, settings: TaskSettings | None = None):
        self.name = name
        self.settings = settings or TaskSettings()
        self._store = store
        self.tasks: dict[str, Task] = {}
        self.middleware = MiddlewareStack()

    @functools.cached_property
    def store(self) -> ObjectStore:
        return self._store or open_store()

    @functools.cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.store, min_write_interval=self.settings.status_write_interval)

    @functools.cached_property
    def queue(self) -> Queue:
        return Queue(self.jobs, lease_seconds=self.settings.lease_seconds,
                     attempt_lost=lambda doc: self.middleware.after_process(self, doc))

    def task(self, fn: Callable | None = None, **options: Any) -> Any:
        """Register a function as a task (usable as ``@app.task`` or ``@app.task(...)``)."""

        def register(func: Callable) -> Task:
            task = Task(self, func, **options)
            self.tasks[task.name] = task
            return task

        return register(fn) if fn is not None else register

    def AsyncResult(self, job_id: str) -> AsyncResult:  # noqa: N802 - Celery's name
        return AsyncResult(job_id, self)

    def send_task(self, name: str, args: tuple = (), kwargs: dict | None = None, **options: Any) -> AsyncResult:
        """Enqueue a task by name, with ``apply_async``'s options (the worker that runs it must have it registered)."""
        task = self.tasks.get(name) or Task(self, _not_here, name=name)  # queued for a worker that has it
        return task.apply_async(args, kwargs, **options)

    def run_claimed_job(self, job_id: str, worker_id: str | None = None, created: JobStatus | None = None) -> JobStatus | None:
        """Claim ``job_id`` and run it here (eager mode, or a RunPod ``execute`` request); ``created``: the job as
        it was created, claimed by ``worker_id`` already (:meth:`Queue.enqueue`'s ``claim_for``): that claim is run."""
        worker_id = worker_id or default_worker_id("inline")
        claimed = self.queue.created_claim(created) if created is not None else self.queue.claim(worker_id, job_id=job_id)
        if claimed is None:
            return None
        task = self.tasks.get(claimed.doc.task) or self._unknown_task(claimed.doc.task)
        return execute(task, claimed, self.queue, worker_id=worker_id,
                       write_interval=self.settings.status_write_interval, heartbeat_seconds=self.settings.heartbeat_seconds)

    def run_until_ready(self, job_id: str, worker_id: str | None = None, created: JobStatus | None = None) -> JobStatus:
        """Run ``job_id`` here, retries included, until it is finished (eager mode, a RunPod request); ``created``:
        the job created claimed by ``worker_id`` (see :meth:`run_claimed_job`).

        A job that waits for parts gets them run here too, one after another, unless others hold them:
        then it is left waiting (claimable once they have succeeded) and returned as it is.
        """
        worker_id = worker_id or default_worker_id("eager")
        while True:
            ran = self.run_claimed_job(job_id, worker_id, created)
            created = None  # a retry is claimed as any other
            doc = ran or self.jobs.read(job_id).doc
            if doc.state not in CLAIMABLE_STATES:
                return doc
            if doc.waiting_for and self._run_parts(doc, worker_id):
                continue
            if doc.not_before and doc.not_before > utcnow():  # a retry's backoff, or a countdown/eta
                time.sleep((doc.not_before - utcnow()).total_seconds())
            elif ran is None:
                return doc  # claimable, yet not claimed here: nothing more this process can do

    def _run_parts(self, doc: JobStatus, worker_id: str) -> bool:
        """Run here the parts ``doc`` waits for that nobody holds; whether it can go on (none is left unfinished)."""
        for part in self.queue.statuses(doc.waiting_for):
            if not part.ready:
                self.run_until_ready(part.job_id, worker_id)
        return all(part.ready for part in self.queue.statuses(doc.waiting_for))

    def _unknown_task(self, name: str) -> Task:
        """A stand-in that fails the job clearly (without retries) instead of leaving it stuck."""

        def unknown(*_: Any, **__: Any) -> None:
            raise TaskError(f"No task named '{name}' is registered in this worker.")

        return Task(self, unknown, name=name, max_retries=0)


def default_worker_id(kind: str = "worker") -> str:
    return f"{kind}-{socket.gethostname()}-{os.getpid()}"


def _not_here(*_: Any, **__: Any) -> None:
    raise TaskError("This task is registered on other workers, not in this process.")
