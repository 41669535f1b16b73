"""Exceptions a task raises or a caller receives."""

from __future__ import annotations


def validation_message(errors: list[dict]) -> str:
    """The first of pydantic's validation errors, as ``field: message`` (no input values echoed)."""
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"] if part != "body")
    return f"{where}: {first['msg']}" if where else first["msg"]


class TaskError(Exception):
    """An expected failure whose message is written for the person who submitted the job.

    Its message goes into the status document as it is.  Any other exception
    is recorded only by type, with the details in the worker's log, so no
    traceback, internal path or secret ever reaches a status document.
    """

    code = "task_error"


class Retry(Exception):
    """Raised by ``ctx.retry()``: ends this attempt and schedules another."""

    def __init__(self, exc: BaseException | None = None, countdown: float | None = None):
        self.exc, self.countdown = exc, countdown
        super().__init__(f"retry requested ({type(exc).__name__ if exc else 'no error'})")


class WorkerShutdown(Exception):
    """The worker is stopping: the job is handed back to the queue at this checkpoint."""


class TimeLimitExceeded(TaskError):
    """The task ran longer than its time_limit."""


class TaskFailed(Exception):
    """``AsyncResult.get()`` of a job that ended in FAILURE."""

    def __init__(self, job_id: str, error_type: str, message: str):
        self.job_id, self.error_type = job_id, error_type
        super().__init__(f"{error_type}: {message}")


class TaskRevoked(Exception):
    """``AsyncResult.get()`` of a job that was cancelled."""
