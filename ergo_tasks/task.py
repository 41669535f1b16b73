"""A registered task: a function plus how it is queued, retried and reported."""

from __future__ import annotations

import functools
import json
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from statestore.retry import Backoff

from .errors import Retry, TaskError, UnsupportedOption
from .result import AsyncResult
from .status import JobStatus
from .timeutil import utcnow

if TYPE_CHECKING:
    from .app import TaskApp
    from .canvas import Signature
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

    def s(self, *args: Any, **kwargs: Any) -> Signature:
        """This task with these arguments, to queue later or to put in a ``group`` or ``chord`` (Celery's ``s``)."""
        from .canvas import Signature

        return Signature(self, args, kwargs)

    def apply_async(self, args: tuple | list = (), kwargs: dict | None = None, *, countdown: float | None = None,
                    eta: datetime | None = None, expires: float | datetime | None = None, task_id: str | None = None,
                    owner: str | None = None, idempotency_key: str | None = None, parent: str | None = None,
                    waiting_for: list[str] | None = None, results_of: list[str] | None = None, **unsupported: Any) -> AsyncResult:
        """Queue a run (JSON arguments only); in eager mode, run it here before returning.

        Celery's options: ``countdown`` (seconds) or ``eta`` (a datetime; naive means UTC) delay the
        start; ``expires`` (seconds or a datetime) revokes the job if it has not started by then;
        ``task_id`` names the job (an id in this engine's format, see ``ergo_tasks.ids``).  Every call
        with the same ``idempotency_key`` gets the same job: a caller that retries after an error (or
        a lost answer) never queues a second run.  ``parent``: the job this one is a part of;
        ``waiting_for`` and ``results_of``: see :mod:`ergo_tasks.canvas` (``chord``).  Any other
        option is refused in words.
        """
        if unsupported:
            raise UnsupportedOption(f"apply_async does not support {', '.join(sorted(unsupported))}; it takes countdown, eta, "
                                    "expires, task_id, owner, idempotency_key, parent, waiting_for and results_of "
                                    "(queues and routing: one queue per bucket).")
        if countdown is not None and eta is not None:
            raise UnsupportedOption("Give countdown or eta, not both.")
        args, kwargs = list(args), dict(kwargs or {})
        try:
            json.dumps([args, kwargs])
        except (TypeError, ValueError):
            raise TypeError(f"Arguments of task {self.name} must be JSON values (str, number, bool, None, list, dict).") from None
        now = utcnow()
        not_before = now + timedelta(seconds=countdown) if countdown is not None else _utc(eta)
        expires_at = now + timedelta(seconds=expires) if isinstance(expires, int | float) else _utc(expires)
        doc = self.app.queue.enqueue(self.name, args, kwargs, self.max_retries, owner=owner, idempotency_key=idempotency_key,
                                     job_id=task_id, not_before=not_before, expires_at=expires_at, parent=parent,
                                     waiting_for=waiting_for, results_of=results_of)
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


def _utc(moment: datetime | None) -> datetime | None:
    """An aware datetime in UTC; a naive one is taken to be UTC already (Celery's default)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
