"""A registered task: a function plus how it is queued, retried and reported."""

from __future__ import annotations

import functools
import json
import random
from typing import TYPE_CHECKING, Any

from statestore.retry import Backoff

from .errors import Retry, TaskError
from .result import AsyncResult
from .status import JobStatus

if TYPE_CHECKING:
    from .app import TaskApp
    from .execution import TaskContext


class Task:
    """Call it directly, or queue it with ``delay`` / ``apply_async`` (Celery's names and options).

    ``throws``: exception types that are *expected* failures (Celery's option of
    that name).  Like :class:`~ergo_tasks.errors.TaskError`, their message is
    recorded in the status document as it is and they are logged without a
    traceback; any other exception is recorded by type only.
    """

    def __init__(
        self,
        app: TaskApp,
        func: Any,
        *,
        name: str | None = None,
        bind: bool = False,
        max_retries: int | None = None,
        autoretry_for: tuple[type[BaseException], ...] = (),
        throws: tuple[type[BaseException], ...] = (),
        retry_backoff: float = 1.0,
        retry_backoff_max: float = 600.0,
        retry_jitter: bool = True,
        time_limit: float | None = None,
    ):
        self.app, self.func, self.bind = app, func, bind
        self.name = name or f"{func.__module__}.{func.__qualname__}"
        self.max_retries = app.settings.max_retries if max_retries is None else max_retries
        self.autoretry_for = autoretry_for
        self.throws = throws
        self.backoff = Backoff(base=retry_backoff, cap=retry_backoff_max, jitter=retry_jitter)
        self.time_limit = time_limit
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function here, now, without the queue (as in Celery)."""
        return self.func(*args, **kwargs)

    def delay(self, *args: Any, **kwargs: Any) -> AsyncResult:
        return self.apply_async(args, kwargs)

    def apply_async(self, args: tuple | list = (), kwargs: dict | None = None, *, owner: str | None = None,
                    idempotency_key: str | None = None) -> AsyncResult:
        """Queue a run (JSON arguments only); in eager mode, run it here before returning.

        Every call with the same ``idempotency_key`` gets the same job: a caller that retries after an
        error (or a lost answer) never queues a second run.
        """
        args, kwargs = list(args), dict(kwargs or {})
        try:
            json.dumps([args, kwargs])
        except (TypeError, ValueError):
            raise TypeError(f"Arguments of task {self.name} must be JSON values (str, number, bool, None, list, dict).") from None
        doc = self.app.queue.enqueue(self.name, args, kwargs, self.max_retries, owner=owner, idempotency_key=idempotency_key)
        if self.app.settings.eager:
            self.app.run_until_ready(doc.job_id)
        return AsyncResult(doc.job_id, self.app)

    def run_with(self, ctx: TaskContext) -> Any:
        """Called by the executor with the job's context."""
        args, kwargs = ctx.request.args, ctx.request.kwargs
        return self.func(ctx, *args, **kwargs) if self.bind else self.func(*args, **kwargs)

    def expects(self, error: BaseException) -> bool:
        """Whether ``error`` is an expected failure whose message is meant for the submitter."""
        return isinstance(error, (TaskError, *self.throws))

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
