"""Dispatch bookkeeping: each job is handed to its executor once, and again only when it needs it.

Serverless has no supervisor, so the service itself keeps jobs moving: ``start_processing`` hands a new job
over, and a status read requeues a lost job and hands over again one that became claimable again (requeued,
resumed), whose last hand-over failed, or that waited past the stall time.  Every hand-over is recorded in the
job's status document (``annotations["dispatch"]``: when, how often, a token for this attempt, and its outcome),
written with compare-and-swap *before* the executor is called, so two readers never both send it.

Also here: where a queued job stands in line and a guess at its wait (:class:`QueuePlace`).
"""

from __future__ import annotations

import itertools
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from ..app import TaskApp
from ..errors import JobNotFound
from ..states import CLAIMABLE_STATES, RUNNING_STATES, State
from ..status import JobStatus
from ..timeutil import isoformat, utcnow
from ..timeutil import parse as parse_time
from .errors import DispatchError
from .executors import Dispatcher
from .settings import ServiceSettings
from .views import queue_line

log = structlog.get_logger(__name__)

#: How long the typical run time of recent jobs is remembered (status reads are frequent).
TYPICAL_RUN_TTL_S = 60
#: How many recent completed jobs the typical run time is the median of.
TYPICAL_RUN_SAMPLE = 10


def dispatch_record(count: int, by: str | None = None) -> dict:
    """A dispatch as the status document records it; ``by`` (new unless given) tells this dispatch's outcome from
    a later one's."""
    return {"at": isoformat(utcnow()), "count": count, "by": by or _new_token()}


def _new_token() -> str:
    return uuid.uuid4().hex[:12]


def needs_dispatch(doc: JobStatus, now: datetime, stall: timedelta, retry: timedelta) -> bool:
    """Whether a job is due and was never handed over, became claimable again (requeued after a lost worker,
    resumed) since its last hand-over, had that hand-over fail ``retry`` ago, or waited past ``stall``."""
    due = doc.state == State.PENDING or (doc.state == State.RETRY and (doc.not_before or now) <= now)
    if not due:
        return False
    record = doc.annotations.get("dispatch") or {}
    last = parse_time(record["at"]) if record.get("at") else None
    if last is None or now - last >= stall:
        return True
    # when it became claimable *again* (requeued, resumed); a job never claimed has only its creation
    again_since = doc.history[-1].at if len(doc.history) > 1 else None
    return bool(again_since and last < again_since) or bool(record.get("error") and now - last >= retry)


class DispatchBook:
    """Hands jobs to the dispatcher and records each hand-over in the job's status document."""

    def __init__(self, app: TaskApp, settings: ServiceSettings, dispatcher: Dispatcher):
        self.app, self.settings, self.dispatcher = app, settings, dispatcher

    def start(self, create: Callable[[dict | None, str | None], JobStatus]) -> JobStatus:
        """Create a job with ``create`` (given the annotations to create it with: its first dispatch, recorded as
        it is created; and the worker to create it claimed by, where the executor runs it here at once) and hand it
        over; a job that existed (the same idempotency key) only if it needs it."""
        record = dispatch_record(1)
        doc = create({"dispatch": record} if self.dispatcher.mode != "worker" else None, self.dispatcher.runs_here)
        if (doc.annotations.get("dispatch") or {}).get("by") == record["by"]:
            return self.send(doc.job_id, record["by"], doc)  # this request created the job
        return self.dispatch(doc.job_id)

    def dispatch(self, job_id: str) -> JobStatus:
        """Dispatch a claimable job that needs it (:func:`needs_dispatch`), once: the dispatch is recorded with
        compare-and-swap first, and only the caller whose record was written sends it."""
        if self.dispatcher.mode == "worker":
            return self.app.jobs.read(job_id).doc  # workers find queued jobs themselves: nothing to record
        stall = timedelta(seconds=self.settings.stall_seconds)
        retry = timedelta(seconds=self.settings.dispatch_retry_s)
        token = _new_token()  # the same in every re-run after a lost race: only the record written carries it

        def change(doc: JobStatus) -> JobStatus | None:
            if not needs_dispatch(doc, utcnow(), stall, retry):
                return None
            record = dispatch_record((doc.annotations.get("dispatch") or {}).get("count", 0) + 1, by=token)
            return doc.updated(annotations={**doc.annotations, "dispatch": record})

        current = self.app.jobs.update(job_id, change).doc
        won = (current.annotations.get("dispatch") or {}).get("by") == token
        return self.send(job_id, token) if won else current

    def send(self, job_id: str, by: str, created: JobStatus | None = None) -> JobStatus:
        """Hand the job to the executor (``created``: as this request created it) and record what came of it: the
        executor's request id, or the failure (the job stays queued, and a later status read tries again)."""
        try:
            request_id = self.dispatcher.dispatch(job_id, created)
            outcome = {"request_id": request_id} if request_id else {}
        except DispatchError as error:
            log.warning("dispatch.failed", job_id=job_id, error=str(error))
            outcome = {"error": str(error)}
        if not outcome:
            return self.app.jobs.read(job_id).doc

        def change(doc: JobStatus) -> JobStatus | None:
            record = doc.annotations.get("dispatch") or {}
            if record.get("by") != by:
                return None  # a later dispatch has its own record
            return doc.updated(annotations={**doc.annotations, "dispatch": {**record, **outcome}})

        return self.app.jobs.update(job_id, change).doc

    def keep_moving(self, doc: JobStatus) -> JobStatus:
        """Serverless has no supervisor: a status read requeues a lost job and re-dispatches a stalled one.

        A job waiting for its parts is not dispatched while they run: its parts are kept moving instead.
        """
        if doc.state in RUNNING_STATES and doc.lease and doc.lease.expired():
            doc = self.app.queue.requeue_expired(doc.job_id, by="status check").doc
        if doc.state in CLAIMABLE_STATES and doc.waiting_for:
            unfinished = [part for part in self.app.queue.statuses(doc.waiting_for) if not part.ready]
            for part in unfinished:
                self.keep_moving(part)
            if unfinished:
                return doc
        if doc.state in CLAIMABLE_STATES and self.dispatcher.mode != "worker":
            doc = self.dispatch(doc.job_id)
        return doc

    def withdraw(self, doc: JobStatus) -> str:
        """Withdraw the executor's requests of a cancelled job and of its parts, so a queued one never takes a GPU;
        what came of it, in words (empty when there was nothing to withdraw)."""
        requests = [request_id for job in [doc, *self.app.queue.statuses(doc.waiting_for)]
                    if (request_id := (job.annotations.get("dispatch") or {}).get("request_id"))]
        if not requests:
            return ""
        mode = self.dispatcher.mode
        try:
            for request_id in requests:
                self.dispatcher.cancel(request_id)
        except DispatchError as error:
            log.warning("dispatch.cancel_failed", job_id=doc.job_id, request_id=request_id, error=str(error))
            return f" The {mode} request could not be withdrawn; it ends as soon as it sees the job cancelled."
        return f" Its {mode} request{'s were' if len(requests) > 1 else ' was'} withdrawn."


class QueuePlace:
    """Where a queued job stands: jobs (not their parts) waiting before it, jobs running, and a guess at the wait."""

    def __init__(self, app: TaskApp, clock: Callable[[], float] = time.monotonic):
        self.app, self.clock = app, clock
        self._typical: tuple[float, float | None] | None = None
        self._parents: dict[str, str | None] = {}  # job id -> the job it is a part of (it never changes)

    def of(self, job_id: str) -> dict:
        """The guess comes from the typical run of recent jobs or, before any finished, from what the running ones
        say they have left."""
        line = queue_line(self.app.jobs.open_markers(), job_id, self._parent_of, self._read_or_none)
        typical = self._typical_run_seconds() or line.run_s
        if typical is None:
            estimate = None
        elif line.running:  # each running job frees a worker about halfway through its run; the jobs ahead then take turns
            first = line.soonest_end_s if line.soonest_end_s is not None else typical * 0.5
            estimate = first + typical * line.ahead / line.running
        else:
            estimate = typical * line.ahead
        return {"position": line.ahead + 1, "ahead": line.ahead, "running": line.running,
                "estimate_s": None if estimate is None else round(estimate)}

    def _parent_of(self, job_id: str) -> str | None:
        if job_id not in self._parents:
            doc = self._read_or_none(job_id)
            self._parents[job_id] = doc.parent if doc else None
        return self._parents[job_id]

    def _read_or_none(self, job_id: str) -> JobStatus | None:
        try:
            return self.app.jobs.read(job_id).doc
        except JobNotFound:
            return None

    def _typical_run_seconds(self) -> float | None:
        """The median run time of the last completed jobs, remembered for a while."""
        now = self.clock()
        if self._typical is None or now - self._typical[0] > TYPICAL_RUN_TTL_S:
            recent = itertools.islice(self.app.jobs.recent(state=State.SUCCESS), TYPICAL_RUN_SAMPLE)
            runs = [doc.run_seconds for doc in recent if doc.run_seconds]
            self._typical = (now, statistics.median(runs) if runs else None)
        return self._typical[1]
