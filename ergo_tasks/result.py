"""``AsyncResult``: a handle on a job, as in Celery's ``result.py``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .errors import TaskFailed, TaskRevoked
from .states import CUSTOM_STATE_KEY, READY_STATES, TRANSITIONS, State
from .status import JobStatus

if TYPE_CHECKING:
    from .app import TaskApp


class AsyncResult:
    """Reads the job's status document on every access until it can no longer change, then keeps it.

    A job in a final state (SUCCESS: no transition leaves it) is cached, as
    Celery caches a ready result, which spares storage reads.  FAILURE and
    REVOKED are read afresh each time, since an operator may resume the job.
    """

    def __init__(self, job_id: str, app: TaskApp):
        self.id, self.app = job_id, app
        self._final: JobStatus | None = None

    def __repr__(self) -> str:
        return f"<AsyncResult {self.id}>"

    @property
    def status_doc(self) -> JobStatus:
        if self._final is not None:
            return self._final
        doc = self.app.jobs.read(self.id).doc
        if not TRANSITIONS[doc.state]:
            self._final = doc
        return doc

    @property
    def state(self) -> str:
        """The job's state; while it runs, the custom state its task reported, if any (as in Celery)."""
        doc = self.status_doc
        return (doc.state == State.PROGRESS and doc.meta.get(CUSTOM_STATE_KEY)) or str(doc.state)

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
