"""A Celery-style API over the object-storage queue.

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
"""

from __future__ import annotations

import functools
import json
import os
import random
import socket
import time
from collections.abc import Callable
from typing import Any

from statestore import ObjectStore, open_store
from statestore.retry import Backoff

from .config import TaskSettings
from .errors import Retry, TaskError, TaskFailed, TaskRevoked
from .execution import TaskContext, execute
from .jobstore import JobStore
from .models import JobStatus
from .queue import Queue
from .states import READY_STATES, State
from .timeutil import utcnow


class TaskApp:
    """Registry of tasks plus the storage they are queued in."""

    def __init__(self, name: str = "ergo", *, store: ObjectStore | None = None, settings: TaskSettings | None = None):
        self.name = name
        self.settings = settings or TaskSettings()
        self._store = store
        self.tasks: dict[str, Task] = {}
        #: Called with the final status document of every job this process ran to the end
        #: (SUCCESS, FAILURE, REVOKED); used for notifications.  Errors are logged, never raised.
        self.on_finish: list[Callable[[JobStatus], None]] = []

    @functools.cached_property
    def store(self) -> ObjectStore:
        return self._store or open_store()

    @functools.cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.store)

    @functools.cached_property
    def queue(self) -> Queue:
        return Queue(self.jobs, lease_seconds=self.settings.lease_seconds)

    def task(self, fn: Callable | None = None, **options: Any) -> Any:
        """Register a function as a task (usable as ``@app.task`` or ``@app.task(...)``)."""

        def register(func: Callable) -> Task:
            task = Task(self, func, **options)
            self.tasks[task.name] = task
            return task

        return register(fn) if fn is not None else register

    def AsyncResult(self, job_id: str) -> AsyncResult:  # noqa: N802 - Celery's name
        return AsyncResult(job_id, self)

    def send_task(self, name: str, args: tuple = (), kwargs: dict | None = None) -> AsyncResult:
        """Enqueue a task by name (the worker that runs it must have it registered)."""
        if name in self.tasks:
            return self.tasks[name].apply_async(args, kwargs)
        doc = self.queue.enqueue(name, list(args), dict(kwargs or {}), self.settings.max_retries)
        return AsyncResult(doc.job_id, self)

    def run_claimed_job(self, job_id: str, worker_id: str | None = None) -> JobStatus | None:
        """Claim ``job_id`` and run it here (eager mode, or a RunPod ``execute`` request)."""
        worker_id = worker_id or default_worker_id("inline")
        claimed = self.queue.claim(worker_id, job_id=job_id)
        if claimed is None:
            return None
        task = self.tasks.get(claimed.doc.task) or self._unknown_task(claimed.doc.task)
        return execute(task, claimed, self.queue, worker_id=worker_id,
                       write_interval=self.settings.status_write_interval, heartbeat_seconds=self.settings.heartbeat_seconds)

    def run_until_ready(self, job_id: str, worker_id: str) -> JobStatus:
        """Run ``job_id`` here, retries included, until it is finished (eager mode)."""
        while True:
            doc = self.run_claimed_job(job_id, worker_id) or self.jobs.read(job_id).doc
            if doc.state != State.RETRY:
                return doc
            if doc.not_before:
                time.sleep(max(0.0, (doc.not_before - utcnow()).total_seconds()))

    def _unknown_task(self, name: str) -> Task:
        """A stand-in that fails the job clearly (without retries) instead of leaving it stuck."""

        def unknown(*_: Any, **__: Any) -> None:
            raise TaskError(f"No task named '{name}' is registered in this worker.")

        return Task(self, unknown, name=name, max_retries=0)


def default_worker_id(kind: str = "worker") -> str:
    return f"{kind}-{socket.gethostname()}-{os.getpid()}"


class Task:
    """A registered task: call it directly, or queue it with ``delay`` / ``apply_async``."""

    def __init__(
        self,
        app: TaskApp,
        func: Callable,
        *,
        name: str | None = None,
        bind: bool = False,
        max_retries: int | None = None,
        autoretry_for: tuple[type[BaseException], ...] = (),
        retry_backoff: float = 1.0,
        retry_backoff_max: float = 600.0,
        retry_jitter: bool = True,
        time_limit: float | None = None,
    ):
        self.app, self.func, self.bind = app, func, bind
        self.name = name or f"{func.__module__}.{func.__qualname__}"
        self.max_retries = app.settings.max_retries if max_retries is None else max_retries
        self.autoretry_for = autoretry_for
        self.backoff = Backoff(base=retry_backoff, cap=retry_backoff_max, jitter=retry_jitter)
        self.time_limit = time_limit
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function here, now, without the queue (as in Celery)."""
        return self.func(*args, **kwargs)

    def delay(self, *args: Any, **kwargs: Any) -> AsyncResult:
        return self.apply_async(args, kwargs)

    def apply_async(self, args: tuple | list = (), kwargs: dict | None = None) -> AsyncResult:
        args, kwargs = list(args), dict(kwargs or {})
        try:
            json.dumps([args, kwargs])
        except (TypeError, ValueError):
            raise TypeError(f"Arguments of task {self.name} must be JSON values (str, number, bool, None, list, dict).") from None
        doc = self.app.queue.enqueue(self.name, args, kwargs, self.max_retries)
        if self.app.settings.eager:
            self.app.run_until_ready(doc.job_id, default_worker_id("eager"))
        return AsyncResult(doc.job_id, self.app)

    def run_with(self, ctx: TaskContext) -> Any:
        """Called by the executor with the job's context."""
        args, kwargs = ctx.request.args, ctx.request.kwargs
        return self.func(ctx, *args, **kwargs) if self.bind else self.func(*args, **kwargs)

    def retry_decision(self, error: BaseException, doc: JobStatus) -> tuple[float, BaseException] | None:
        """(delay, cause) if this failure earns another attempt, else None."""
        if isinstance(error, Retry):
            cause: BaseException = error.exc or error
            countdown = error.countdown
        elif self.autoretry_for and isinstance(error, self.autoretry_for):
            cause, countdown = error, None
        else:
            return None
        if doc.attempts > doc.max_retries:
            return None
        return (countdown if countdown is not None else self.backoff.delay(doc.attempts - 1, random.Random()), cause)


class AsyncResult:
    """A handle on a job, read from its status document on every access."""

    def __init__(self, job_id: str, app: TaskApp):
        self.id, self.app = job_id, app

    def __repr__(self) -> str:
        return f"<AsyncResult {self.id}>"

    @property
    def status_doc(self) -> JobStatus:
        return self.app.jobs.read(self.id).doc

    @property
    def state(self) -> str:
        return str(self.status_doc.state)

    status = state

    @property
    def info(self) -> Any:
        """The result (SUCCESS), progress meta (running), the error (FAILURE), else None."""
        return _info(self.status_doc)

    result = info

    def ready(self) -> bool:
        return self.status_doc.state in READY_STATES

    def successful(self) -> bool:
        return self.status_doc.state == State.SUCCESS

    def failed(self) -> bool:
        return self.status_doc.state == State.FAILURE

    def get(self, timeout: float | None = None, interval: float = 0.2, propagate: bool = True) -> Any:
        """Wait until the job is finished; return its result or raise its failure."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            doc = self.status_doc
            if doc.state in READY_STATES:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"Job {self.id} did not finish within {timeout} s (it is {doc.state}).")
            time.sleep(interval)
        if propagate and doc.state == State.FAILURE:
            raise TaskFailed(self.id, doc.error.type if doc.error else "Error", doc.error.message if doc.error else "")
        if propagate and doc.state == State.REVOKED:
            raise TaskRevoked(f"Job {self.id} was cancelled.")
        return _info(doc)

    def revoke(self) -> None:
        self.app.queue.revoke(self.id, reason="cancelled through AsyncResult.revoke()")


def _info(doc: JobStatus) -> Any:
    if doc.state == State.SUCCESS:
        return doc.result
    if doc.state == State.FAILURE:
        return TaskFailed(doc.job_id, doc.error.type, doc.error.message) if doc.error else None
    if doc.state in (State.STARTED, State.PROGRESS):
        return {"progress": doc.progress, "stage": doc.stage, **doc.meta}
    return None
