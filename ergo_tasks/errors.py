"""Every exception of the task engine, in one hierarchy.

Two families:

* :class:`EngineError` and its subclasses are *expected*: their message is
  written for the person who called (an operator, an API client) and their
  ``code`` is a stable word the service layer turns into an answer;
* control-flow signals (:class:`Retry`, :class:`WorkerShutdown`,
  :class:`LeaseLost`, :class:`Revoked`, :class:`NotClaimable`) end an attempt
  or a claim and never reach a client.

Storage failures are :class:`statestore.StoreError` (with their own codes);
:class:`CorruptStatus` and :class:`ConflictError` are storage errors too, since
a caller treats them the same way (nothing was changed, try again or look).
"""

from __future__ import annotations

from statestore import StoreError


def validation_message(errors: list[dict]) -> str:
    """The first of pydantic's validation errors, as ``field: message`` (no input values echoed)."""
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"] if part != "body")
    return f"{where}: {first['msg']}" if where else first["msg"]


class EngineError(Exception):
    """An expected failure of an engine operation; ``code`` names it for clients."""

    code = "engine_error"


# -- what a task raises -------------------------------------------------------------------
class TaskError(EngineError):
    """An expected task failure whose message is written for the person who submitted the job.

    Its message goes into the status document as it is (so do the messages of
    the exception types a task lists in ``throws``).  Any other exception is
    recorded only by type, with the details in the worker's log, so no
    traceback, internal path or secret ever reaches a status document.
    """

    code = "task_error"


class TimeLimitExceeded(TaskError):
    """The task ran longer than its time_limit."""

    code = "time_limit_exceeded"


# -- what a caller receives ---------------------------------------------------------------
class InvalidJobId(EngineError, ValueError):
    code = "invalid_job_id"


class JobNotFound(EngineError, LookupError):
    code = "job_not_found"

    def __init__(self, job_id: str):
        super().__init__(f"There is no job with id {job_id}.")


class IllegalTransition(EngineError):
    """A change of state that the transition table does not allow."""

    code = "illegal_transition"

    def __init__(self, current: str, target: str, job_id: str = ""):
        self.current, self.target = current, target
        where = f"job {job_id} " if job_id else ""
        super().__init__(f"{where}cannot go from {current} to {target}.")


class OperationRefused(EngineError):
    """An operator action that does not apply to the job's current state."""

    code = "invalid_state"


class TaskModuleInvalid(EngineError):
    """A module named as a task module cannot be imported or has no ``register(app)``."""

    code = "task_module_invalid"


class UnsupportedOption(EngineError, TypeError):
    """A Celery option this engine does not implement: said in words, not as Python's TypeError."""

    code = "unsupported_option"


class JobExists(EngineError):
    """``apply_async(task_id=...)`` named a job that exists already."""

    code = "job_exists"


class TaskFailed(EngineError):
    """``AsyncResult.get()`` of a job that ended in FAILURE."""

    code = "task_failed"

    def __init__(self, job_id: str, error_type: str, message: str):
        self.job_id, self.error_type = job_id, error_type
        super().__init__(f"{error_type}: {message}")


class TaskRevoked(EngineError):
    """``AsyncResult.get()`` of a job that was cancelled."""

    code = "task_revoked"


class CorruptStatus(StoreError):
    """A status document that does not parse; it is left untouched for an operator."""

    code = "corrupt_status"


class ConflictError(StoreError):
    """Too many writers raced for one status document; nothing was changed."""

    code = "conflict"


# -- control flow inside the engine ---------------------------------------------------------
class Retry(Exception):
    """Raised by ``ctx.retry()``: ends this attempt and schedules another."""

    def __init__(self, exc: BaseException | None = None, countdown: float | None = None):
        self.exc, self.countdown = exc, countdown
        super().__init__(f"retry requested ({type(exc).__name__ if exc else 'no error'})")


class WaitFor(Exception):
    """Raised by ``ctx.wait_for()``: this attempt ends, and the job runs again once ``job_ids`` have succeeded."""

    def __init__(self, job_ids: list[str]):
        self.job_ids = job_ids
        super().__init__(f"waiting for {len(job_ids)} parts")


class PartFailed(Exception):
    """Raised by ``ctx.wait_for()``: a part failed or was cancelled, and the job fails with the part's error."""

    def __init__(self, error_type: str, message: str, expected: bool):
        self.error_type, self.message, self.expected = error_type, message, expected
        super().__init__(message)


class WorkerShutdown(Exception):
    """The worker is stopping: the job is handed back to the queue at this checkpoint."""


class NotClaimable(Exception):
    """The job is not (or not yet) available to this worker."""


class LeaseLost(Exception):
    """The worker no longer holds the job (its lease expired and another worker took it), or may no longer hold it
    (an answer came back after the lease could have run out): either way this attempt does no more work."""


class Revoked(Exception):
    """The job was cancelled while it ran."""
