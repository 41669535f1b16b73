"""The status document: one JSON object per job at ``status/<job_id>.json``.

It is the single source of truth about a job.  Every change is a new version
of this document written with compare-and-swap, and every change of state is
appended to ``history``.  ``schema_version`` lets a later release read old
documents (and refuse ones it does not understand).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from .states import READY_STATES, State, check_transition
from .timeutil import isoformat, utcnow

SCHEMA_VERSION = 1

Timestamp = Annotated[datetime, PlainSerializer(isoformat, return_type=str)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Lease(_Model):
    """Which worker holds the job, and until when (renewed by heartbeats)."""

    worker_id: str
    expires_at: Timestamp
    #: A fresh random token per claim: every later write of that attempt (progress, renewal, its last write)
    #: lands only while the document still carries it, so an attempt that was taken over can change nothing,
    #: even when its worker (same id, later claim) holds the job again.  None in documents of older releases.
    attempt: str | None = None

    def expired(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) >= self.expires_at


class TaskRequest(_Model):
    """What the task was called with (JSON values only)."""

    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    #: A chord's body: the results of these jobs, in this order, are passed as the first argument.
    results_of: list[str] = Field(default_factory=list)


class ErrorInfo(_Model):
    type: str
    message: str
    #: An expected failure (the task ``throws`` it: a bad input, say): running the job again ends the same way.
    expected: bool = False


class Transition(_Model):
    from_state: State | None = Field(alias="from")
    to_state: State = Field(alias="to")
    at: Timestamp
    worker: str | None = None
    reason: str = ""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class JobStatus(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    job_id: str
    task: str
    state: State = State.PENDING
    progress: float = Field(0.0, ge=0, le=100)
    stage: str = ""
    #: Task-defined progress details (frames done/total, ETA...), from update_state(meta=...).
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: Timestamp
    updated_at: Timestamp
    request: TaskRequest = Field(default_factory=TaskRequest)
    #: How many times a worker has started this job since it was created or resumed.
    attempts: int = Field(0, ge=0)
    max_retries: int = Field(3, ge=0)
    #: A PENDING or RETRY job is not claimed before this time (``countdown``/``eta``, retry backoff).
    not_before: Timestamp | None = None
    #: A job not started by this time is revoked instead of run (Celery's ``expires``).
    expires_at: Timestamp | None = None
    lease: Lease | None = None
    #: Jobs that must succeed before this one may be claimed (a chord's header, or the parts a running task
    #: handed out and waits for); if one of them fails or is cancelled, so is this job.
    waiting_for: list[str] = Field(default_factory=list)
    #: The job this one is a part of (it waits for this one); parts are not listed as jobs of their own.
    parent: str | None = None
    #: Opaque pointer to the task's last checkpoint (e.g. a key under checkpoints/<job_id>/).
    checkpoint: str | None = None
    #: Storage keys of the job's outputs (keys, never URLs: URLs are signed on request).
    result_keys: dict[str, str] = Field(default_factory=dict)
    #: The task's return value (JSON).
    result: Any = None
    error: ErrorInfo | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    #: Seconds workers spent on this job, all attempts together (for cost estimates).
    run_seconds: float = Field(0.0, ge=0)
    #: The key under which the submitter asked for this job exactly once (see Queue.enqueue), if any.
    idempotency_key: str | None = None
    #: Opaque id of whoever submitted the job (a token's fingerprint), when submitters are known.
    owner: str | None = None
    #: What layers above the engine keep with the job (JSON; e.g. the service's dispatch record).
    #: The engine copies it along and never reads it.
    annotations: dict[str, Any] = Field(default_factory=dict)
    history: list[Transition] = Field(default_factory=list)
    #: A fresh random token in every version written: lets a writer whose answer was lost (a connection
    #: reset after the server applied the write) recognise its own write when it reads the document back.
    write_token: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_older_layout(cls, data: Any) -> Any:
        """Documents written before ``annotations`` kept the service's dispatch record at the top level."""
        if isinstance(data, dict) and ("dispatched_at" in data or "dispatches" in data):
            data = dict(data)
            at, count = data.pop("dispatched_at", None), data.pop("dispatches", 0)
            if at is not None or count:
                data["annotations"] = {**data.get("annotations", {}), "dispatch": {"at": at, "count": count}}
        return data

    @property
    def ready(self) -> bool:
        return self.state in READY_STATES

    @classmethod
    def new(cls, job_id: str, task: str, request: TaskRequest, max_retries: int) -> JobStatus:
        now = utcnow()
        doc = cls(job_id=job_id, task=task, created_at=now, updated_at=now, request=request, max_retries=max_retries)
        doc.history.append(Transition(from_state=None, to_state=State.PENDING, at=now, reason="created"))
        return doc

    def moved(self, target: State, *, worker: str | None = None, reason: str = "", **changes: Any) -> JobStatus:
        """A copy in state ``target`` with ``changes`` applied; raises IllegalTransition.

        Only changes of state enter the history; PROGRESS -> PROGRESS updates
        (many per minute) do not, so the history stays short and readable.
        """
        check_transition(self.state, target, self.job_id)
        now = utcnow()
        doc = self.model_copy(update={**changes, "state": target, "updated_at": now}, deep=True)
        if target != self.state:
            doc.history.append(Transition(from_state=self.state, to_state=target, at=now, worker=worker, reason=reason))
        return doc

    def updated(self, **changes: Any) -> JobStatus:
        """A copy with ``changes`` applied and no change of state."""
        return self.model_copy(update={**changes, "updated_at": utcnow()}, deep=True)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> JobStatus:
        return cls.model_validate_json(data)
