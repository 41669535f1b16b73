"""Running one claimed job: the task's context, throttled status writes, heartbeats.

While a task runs, three things want to write its status document: the task
(progress, checkpoints), the heartbeat (lease renewal) and finally the end of
the attempt.  They all go through one :class:`StatusWriter`, which merges
pending changes into a single compare-and-swap write and keeps writes to the
key at least ``status_write_interval`` apart (Cloudflare R2 allows about one
write per second to a key).  Every write re-reads the document, so it is also
how a running task learns that it was cancelled or lost its lease.

Fencing: the writer knows the lease its last claim or renewal wrote, timed from
when that write was sent.  Once that lease may have lapsed (an answer that came
late, or renewals that kept failing) the task stops at its next checkpoint and
the job is handed back; the attempt's last write lands only while the document
still carries the attempt's token, and the heartbeat keeps renewing until that
write is settled.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog

from statestore import StoreError
from statestore.retry import Backoff

from .errors import CorruptStatus, LeaseLost, PartFailed, Retry, Revoked, TaskError, TimeLimitExceeded, WaitFor, WorkerShutdown
from .jobstore import Versioned
from .queue import Queue, failed_part, part_failure
from .states import CUSTOM_STATE, CUSTOM_STATE_KEY, State
from .status import ErrorInfo, JobStatus, Lease
from .timeutil import utcnow

if TYPE_CHECKING:
    from .result import AsyncResult
    from .task import Task

log = structlog.get_logger(__name__)


class StatusWriter:
    """Coalesces a running job's status changes and throttles writes to its key."""

    def __init__(self, queue: Queue, job_id: str, lease: Lease, interval: float, clock: Callable[[], float] = time.monotonic):
        self.queue, self.job_id, self.worker_id = queue, job_id, lease.worker_id
        #: This attempt's lease as last written (claim or renewal): until when it surely holds the job.
        self.lease = lease
        self.interval, self.clock = interval, clock
        self._pending: dict[str, Any] = {}
        self._final: dict[str, Any] = {}  # the progress taken along by the attempt's last write
        self._lock = threading.Lock()
        self._last_write = clock()  # the claim was a write
        self.stopped: BaseException | None = None  # Revoked or LeaseLost, once seen

    def stage(self, **changes: Any) -> None:
        with self._lock:
            if "meta" in changes and "meta" in self._pending:
                changes["meta"] = {**self._pending["meta"], **changes["meta"]}
            self._pending.update(changes)

    def has_pending(self) -> bool:
        return bool(self._pending)

    def due(self) -> bool:
        return self.clock() - self._last_write >= self.interval

    def check(self) -> None:
        """Raise if the job was cancelled or taken over, or this attempt's lease may have lapsed."""
        if self.stopped:
            raise self.stopped
        if self.queue.lapsed(self.lease):
            log.warning("task.lease_lapsed", job_id=self.job_id, worker_id=self.worker_id, lease_until=str(self.lease.expires_at))
            self.stopped = LeaseLost(self.job_id)
            raise self.stopped

    def flush(self, *, wait: bool = False, renew: bool = True) -> None:
        """Write pending changes (and renew the lease) if the interval allows, or after waiting for it."""
        with self._lock:
            self.check()
            if not self.due():
                if not wait:
                    return
                time.sleep(max(0.0, self.interval - (self.clock() - self._last_write)))
            pending = dict(self._pending)
            self._pending.clear()
            try:
                self._write(pending, renew)
            finally:
                self._last_write = self.clock()

    def renew(self) -> None:
        """Renew the lease without waiting for the writer's lock: a write stalled there (its answer held back)
        must not cost the lease.  Both are compare-and-swaps of this attempt, so either order is consistent."""
        self.check()
        self._write({}, renew=True)

    def _write(self, pending: dict[str, Any], renew: bool) -> None:
        try:
            written = self.queue.jobs.update(self.job_id, lambda doc: self._apply(doc, pending, renew))
        except (Revoked, LeaseLost) as stop:
            self.stopped = stop
            raise
        lease = written.doc.lease
        if lease is not None and lease.expires_at > self.lease.expires_at:  # renewals may come back out of order
            self.lease = lease
        self.check()  # a renewal answered after it could have run out renews nothing this worker can trust

    def _apply(self, doc: JobStatus, pending: dict[str, Any], renew: bool) -> JobStatus:
        self.queue.held(doc, self.lease)
        changes = dict(pending)
        if "meta" in changes:
            changes["meta"] = {**doc.meta, **changes["meta"]}
        if renew:
            changes["lease"] = self.queue.renewed_lease(self.lease)
        if "progress" in changes or "stage" in changes:
            return doc.moved(State.PROGRESS, worker=self.worker_id, reason="running", **changes)
        return doc.updated(**changes)

    def finish(self, target: State, **changes: Any) -> Versioned:
        """The attempt's last write: waits for its turn, carries pending changes along.

        It does not hold the writer's lock while it talks to storage: a heartbeat renewal may go on
        beside it (both are compare-and-swaps of this attempt, so either order is consistent), and one
        slow answer, to either of them, does not stop the lease being renewed.
        """
        with self._lock:
            wait = max(0.0, self.interval - (self.clock() - self._last_write))
        time.sleep(wait)
        with self._lock:
            # the pending progress goes with the last write, and with its retries; the heartbeat only renews
            self._final = {**self._final, **self._pending}
            self._pending.clear()
            self._last_write = self.clock()  # the heartbeat's next renewal keeps the interval from this write
        try:
            return self.queue.finish(self.job_id, self.lease, target, **{**self._final, **changes})
        finally:
            with self._lock:
                self._last_write = self.clock()


class Heartbeat(threading.Thread):
    """Renews the lease and flushes coalesced progress while the task runs.

    Each beat runs in a thread of its own: a beat whose answer is held back (or a task's write stalled in the
    writer's lock) does not hold up the next one, which renews beside it once the stalled one is a beat old.
    """

    def __init__(self, writer: StatusWriter, every: float):
        super().__init__(name=f"heartbeat-{writer.job_id}", daemon=True)
        self.writer, self.every = writer, every
        self._stopped = threading.Event()
        self._last_beat = writer.clock()
        self._beats: list[tuple[threading.Thread, float]] = []  # (beat, when it started)

    def run(self) -> None:
        tick = max(0.05, min(self.every, self.writer.interval or self.every) / 2)
        while not self._stopped.wait(tick) and not self.writer.stopped:
            now = self.writer.clock()
            self._beats = [(beat, since) for beat, since in self._beats if beat.is_alive()]
            if self._beats:
                if now - self._beats[-1][1] >= self.every:  # stalled for a beat: renew beside it
                    self._start(self.writer.renew, now)
                continue
            if (now - self._last_beat >= self.every or self.writer.has_pending()) and self.writer.due():
                self._start(self.writer.flush, now)

    def _start(self, write: Callable[[], None], now: float) -> None:
        beat = threading.Thread(target=self._beat, args=(write,), name=f"beat-{self.writer.job_id}", daemon=True)
        self._beats.append((beat, now))
        beat.start()

    def _beat(self, write: Callable[[], None]) -> None:
        try:
            write()
            self._last_beat = self.writer.clock()
        except (Revoked, LeaseLost):
            pass  # the writer keeps it: the task sees it at its next checkpoint, and the loop ends
        except Exception as error:  # noqa: BLE001 - storage hiccup: try again next tick
            log.warning("heartbeat.failed", job_id=self.writer.job_id, worker_id=self.writer.worker_id, error=str(error))

    def stop(self) -> None:
        """Stop beating; returns once no beat is in flight (none writes after the attempt ended)."""
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()
        for beat, _ in self._beats:
            beat.join()


@dataclass
class RequestInfo:
    """What Celery calls ``self.request``: facts about this run of the task."""

    id: str
    args: list[Any]
    kwargs: dict[str, Any]
    attempts: int
    max_retries: int
    checkpoint: str | None
    worker_id: str
    #: The job this one is a part of, if any.
    parent: str | None = None


@dataclass
class TaskContext:
    """The object a bound task receives as ``self``."""

    request: RequestInfo
    writer: StatusWriter
    task: Task
    should_stop: Callable[[], bool] = lambda: False
    deadline: float | None = None
    result_keys: dict[str, str] = field(default_factory=dict)
    #: Annotations the attempt's last write adds to the job's document (:meth:`annotate`).
    annotations: dict[str, Any] = field(default_factory=dict)
    #: The custom state this run reported last (``update_state(state="UPLOADING")``), if any.
    custom_state: str | None = None

    def check(self) -> None:
        """A checkpoint: raises if the job was cancelled, lost (or its lease may have lapsed), timed out or the worker stops."""
        self.writer.check()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeLimitExceeded(f"The task ran longer than its time limit of {self.task.time_limit:.0f} s.")
        if self.should_stop():
            raise WorkerShutdown()

    def update_state(self, state: str = "PROGRESS", meta: dict[str, Any] | None = None) -> None:
        """Celery's ``update_state``: ``meta`` may carry ``progress`` (0-100) and ``stage``.

        ``state`` is PROGRESS or a custom state of the task's own (``"UPLOADING"``): the document stays
        in PROGRESS, as the transition table wants, and ``AsyncResult.state`` reads the custom name.
        """
        if state in State.__members__ and state != State.PROGRESS:
            raise ValueError(f"A running task cannot report {state}; return, raise or retry to end it.")
        if not CUSTOM_STATE.fullmatch(state):
            raise ValueError("A custom state is an upper-case word such as UPLOADING.")
        meta = dict(meta or {})
        if state != State.PROGRESS or self.custom_state:  # back to plain PROGRESS after a custom state clears it
            self.custom_state = None if state == State.PROGRESS else state
            meta[CUSTOM_STATE_KEY] = self.custom_state
        changes: dict[str, Any] = {"meta": meta}
        if "progress" in meta:
            changes["progress"] = max(0.0, min(100.0, float(meta.pop("progress"))))
        if "stage" in meta:
            changes["stage"] = str(meta.pop("stage"))
        self.writer.stage(**changes)
        self.task.app.middleware.on_progress(self.task.app, self.request.id, changes.get("progress"), changes.get("stage"))
        self._flush_if_due()

    def save_checkpoint(self, pointer: str, *, wait: bool = True) -> None:
        """Record where a resumed run should continue; by default waits for the write."""
        self.request.checkpoint = pointer
        self.writer.stage(checkpoint=pointer)
        if wait:
            self.writer.flush(wait=True)
        self.check()

    def wait_for(self, parts: Sequence[str | AsyncResult]) -> list[Any]:
        """The results of ``parts`` (jobs this task queued), once they have all succeeded.

        Until then, this attempt ends here: the job goes back to the queue without using up an
        attempt, waiting for its parts, and runs again from the start once they have all succeeded.
        Its worker is free for other jobs meanwhile (the parts, say).  The task is written to come
        back to the same call: it queues its parts with idempotency keys (the same parts again), and
        ``wait_for`` then returns their results.  A part that failed or was cancelled fails the job
        with the part's error.  Cancelling the job cancels its unfinished parts; resuming it resumes them.
        """
        ids = [part if isinstance(part, str) else part.id for part in parts]
        docs = self.task.app.queue.statuses(ids)
        failed = failed_part(docs)
        if failed is not None:
            error = part_failure(failed)
            self.task.app.queue.revoke_parts(ids, self.request.worker_id, f"job {self.request.id} failed with its part {failed.job_id}")
            raise PartFailed(error.type, error.message, error.expected)
        if all(doc.state == State.SUCCESS for doc in docs):
            return [doc.result for doc in docs]
        raise WaitFor(ids)

    def set_result_keys(self, **keys: str) -> None:
        self.result_keys.update(keys)

    def annotate(self, **values: Any) -> None:
        """Add ``values`` to the job's annotations with the attempt's last write, when it succeeds (merged into the
        annotations the document has then): a fact about the result, such as which task record its files show, rides
        on the write that records the result rather than costing a write of its own, which would wait a status write
        interval (``ERGO_STATUS_WRITE_INTERVAL``) behind the one before."""
        self.annotations.update(values)

    def retry(self, exc: BaseException | None = None, countdown: float | None = None) -> None:
        raise Retry(exc, countdown)

    def _flush_if_due(self) -> None:
        if self.writer.due():
            self.writer.flush()
        self.check()


def _json_result(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise TaskError(f"The task returned a {type(value).__name__}, which cannot be stored as JSON.") from None
    return value


def _error_info(error: BaseException, job_id: str, expected: bool) -> ErrorInfo:
    if expected:
        return ErrorInfo(type=type(error).__name__, message=str(error), expected=True)
    return ErrorInfo(type=type(error).__name__, message=f"The task failed unexpectedly ({type(error).__name__}); the worker log of job {job_id} has the details.")


def execute(task: Task, claimed: Versioned, queue: Queue, *, worker_id: str, write_interval: float,
            heartbeat_seconds: float, should_stop: Callable[[], bool] = lambda: False) -> JobStatus:
    """Run a job this worker has claimed, and record how the attempt ended."""
    with structlog.contextvars.bound_contextvars(job_id=claimed.doc.job_id, worker_id=worker_id):
        return _execute(task, claimed, queue, worker_id, write_interval, heartbeat_seconds, should_stop)


def _execute(task: Task, claimed: Versioned, queue: Queue, worker_id: str, write_interval: float,
             heartbeat_seconds: float, should_stop: Callable[[], bool]) -> JobStatus:
    doc = claimed.doc
    bound = log.bind(task=doc.task, attempt=doc.attempts)
    if doc.lease is None or doc.lease.worker_id != worker_id:
        raise LeaseLost(doc.job_id)  # not a claim of this worker's: nothing to run
    writer = StatusWriter(queue, doc.job_id, doc.lease, write_interval)
    ctx = TaskContext(
        request=RequestInfo(id=doc.job_id, args=_arguments(doc, queue), kwargs=dict(doc.request.kwargs),
                            attempts=doc.attempts, max_retries=doc.max_retries, checkpoint=doc.checkpoint, worker_id=worker_id,
                            parent=doc.parent),
        writer=writer, task=task, should_stop=should_stop,
        deadline=time.monotonic() + task.time_limit if task.time_limit else None,
    )
    heartbeat = Heartbeat(writer, heartbeat_seconds)
    started = time.monotonic()
    bound.info("task.started")
    task.app.middleware.before_process(task.app, doc)
    heartbeat.start()
    try:
        target, changes = _outcome(task, ctx, doc, bound)
        changes["run_seconds"] = doc.run_seconds + (time.monotonic() - started)
    except WorkerShutdown:
        heartbeat.stop()
        bound.info("task.released")
        return _unless_stopped(queue, doc.job_id, lambda: queue.release(doc.job_id, writer.lease, f"released by worker {worker_id} (shutting down)"))
    except Revoked:
        heartbeat.stop()
        bound.warning("task.stopped", reason="Revoked")
        return queue.jobs.read(doc.job_id).doc
    except LeaseLost:
        heartbeat.stop()
        bound.warning("task.stopped", reason="LeaseLost")
        # taken over (the fenced release changes nothing), or only possibly lapsed: then back to the queue
        return _unless_stopped(queue, doc.job_id, lambda: queue.release(doc.job_id, writer.lease,
                                                                      f"released by worker {worker_id}: its lease may have lapsed"))
    try:  # the heartbeat renews until the last write is settled: a slow last write must not cost the lease
        final = _unless_stopped(queue, doc.job_id, lambda: writer.finish(target, **changes))
    finally:
        heartbeat.stop()
    task.app.middleware.after_process(task.app, final)
    return final


def _arguments(doc: JobStatus, queue: Queue) -> list[Any]:
    """The job's positional arguments; a chord's body gets the results of the header's jobs first."""
    if not doc.request.results_of:
        return list(doc.request.args)
    header = queue.statuses(doc.request.results_of)
    return [[part.result for part in header], *doc.request.args]


def _outcome(task: Task, ctx: TaskContext, doc: JobStatus, bound: Any) -> tuple[State, dict[str, Any]]:
    """Run the task; return the state this attempt ends in and the changes to record."""
    try:
        ctx.check()  # reading its arguments took time: is the lease still this attempt's?
        result = _json_result(task.run_with(ctx))
    except (Revoked, LeaseLost, WorkerShutdown):
        raise
    except WaitFor as waiting:
        bound.info("task.waiting", parts=len(waiting.job_ids))
        return State.PENDING, {"reason": f"waiting for {len(waiting.job_ids)} parts", "waiting_for": waiting.job_ids,
                               "attempts": max(0, doc.attempts - 1)}
    except PartFailed as failed:
        bound.warning("task.failed", error=failed.error_type, message=failed.message)
        return State.FAILURE, {"reason": "failed: a part failed", "finished_at": utcnow(),
                               "error": ErrorInfo(type=failed.error_type, message=failed.message, expected=failed.expected)}
    except Exception as error:  # noqa: BLE001 - every failure is recorded, none escapes
        retry = task.retry_decision(error, doc)
        if retry is not None:
            delay, cause = retry
            bound.warning("task.retry", countdown=round(delay, 2), error=type(cause).__name__)
            return State.RETRY, {"reason": f"retry in {delay:.1f} s after {type(cause).__name__}",
                                 "error": _error_info(cause, doc.job_id, task.expects(cause)),
                                 "not_before": utcnow() + timedelta(seconds=delay)}
        cause = error.exc if isinstance(error, Retry) and error.exc else error
        expected = task.expects(cause)
        if expected:  # Celery's ``throws``: an expected failure is reported, not debugged
            bound.warning("task.failed", error=type(cause).__name__, message=str(cause))
        else:
            bound.error("task.failed", error=type(cause).__name__, exc_info=cause)
        return State.FAILURE, {"reason": f"failed: {type(cause).__name__}", "error": _error_info(cause, doc.job_id, expected),
                               "finished_at": utcnow()}
    bound.info("task.succeeded")
    annotations = {"annotations": ctx.annotations} if ctx.annotations else {}
    return State.SUCCESS, {"reason": "succeeded", "result": result, "result_keys": ctx.result_keys, "progress": 100.0,
                           "finished_at": utcnow(), "error": None, **annotations}


#: How the attempt's last write backs off while storage is unavailable.
FINAL_WRITE_BACKOFF = Backoff(base=0.5, cap=30.0)
#: How long it keeps trying before the worker gives up on storage (the lease has long expired by then,
#: and the next holder, or an operator's resume, takes over from the last checkpoint).
FINAL_WRITE_PATIENCE_S = 3600.0


def _unless_stopped(queue: Queue, job_id: str, write: Callable[[], Versioned], *, sleep: Callable[[float], None] = time.sleep) -> JobStatus:
    """Do the attempt's last write, unless the job was cancelled or taken over meanwhile.

    A write that fails for storage reasons is retried until it lands or the lease is provably lost
    (another holder, or a cancel, is seen): a finished run is never left leased, to be run again
    once its lease expires, because its last write met a storage hiccup.
    """
    deadline = time.monotonic() + FINAL_WRITE_PATIENCE_S
    for attempt in itertools.count():
        try:
            return write().doc
        except (Revoked, LeaseLost):
            return queue.jobs.read(job_id).doc
        except StoreError as error:
            if isinstance(error, CorruptStatus) or time.monotonic() > deadline:
                raise
            delay = FINAL_WRITE_BACKOFF.delay(attempt)
            log.warning("status.final_write_retry", job_id=job_id, error=type(error).__name__, retry_in=round(delay, 2))
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
