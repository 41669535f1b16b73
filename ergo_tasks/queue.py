"""The job lifecycle over a :class:`~ergo_tasks.jobstore.JobStore`.

Each operation is one compare-and-swap of the status document through
:meth:`JobStore.update`, so two parties (two workers, a worker and an operator)
can never both win: exactly one worker holds a job at a time.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from statestore import PreconditionFailed, StoreError

from .errors import CorruptStatus, JobExists, JobNotFound, LeaseLost, NotClaimable, OperationRefused, Revoked
from .ids import job_id_time, new_job_id, validate_job_id
from .jobstore import JobStore, Versioned
from .states import CLAIMABLE_STATES, READY_STATES, RUNNING_STATES, State
from .status import ErrorInfo, JobStatus, Lease, TaskRequest
from .timeutil import utcnow

log = structlog.get_logger(__name__)

#: The share of a lease its holder leaves unused: a worker counts its lease as lapsed this much before it runs out,
#: for the clocks of workers that differ a little and the moment it takes to act on an answer.
LEASE_MARGIN = 0.1


@dataclass
class Queue:
    jobs: JobStore
    lease_seconds: float = 60.0
    #: A marker whose document is missing is dropped only once its job id is older than this (seconds).
    creation_grace: float = 300.0
    #: How long a claim leaves a job that waits for unfinished parts before reading its parts again (seconds).
    waiting_recheck: float = 5.0
    #: Told of an attempt that ended without its worker: a lost lease moved the job to RETRY or FAILURE.
    #: (The app passes its middleware's ``after_process``, so a lost worker's job alerts like any other.)
    attempt_lost: Callable[[JobStatus], None] = lambda doc: None
    #: Jobs this process saw held by another worker (or waiting for a retry time), and until when: not read
    #: again before then, so a claim does not pay a GET for every running job ahead of the pending ones.
    _busy: dict[str, datetime] = field(default_factory=dict, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)

    # -- producing -----------------------------------------------------------
    def enqueue(self, task: str, args: list[Any], kwargs: dict[str, Any], max_retries: int, owner: str | None = None,
                idempotency_key: str | None = None, annotations: dict[str, Any] | None = None, *, job_id: str | None = None,
                not_before: datetime | None = None, expires_at: datetime | None = None, waiting_for: list[str] | None = None,
                results_of: list[str] | None = None, parent: str | None = None, claim_for: str | None = None) -> JobStatus:
        """Create a job; with ``idempotency_key``, every call with that key gets the one job it names.

        After any failure the job either exists (and will be run) or does not; a caller that retries
        with the same key gets the same job, never a second one.  ``waiting_for``: jobs that must
        succeed first (their results are the first argument for those in ``results_of``: a chord's
        body); ``parent``: the job this one is a part of.  ``claim_for``: the worker that runs the job at once in this
        process (the service's inline executor): a job that can start now is created claimed by it
        (:meth:`created_claim`), in one write where a claim would be a second one, a write interval later.
        """
        job_id = validate_job_id(job_id) if job_id else new_job_id()
        if idempotency_key:
            job_id = self.jobs.job_for_key(idempotency_key, job_id)
            try:
                return self.jobs.read(job_id).doc  # asked for before: the same job
            except JobNotFound:
                pass  # recorded, but its creation did not finish: finish it now
        doc = JobStatus.new(job_id, task, TaskRequest(args=args, kwargs=kwargs, results_of=list(results_of or [])), max_retries)
        doc.owner, doc.idempotency_key, doc.annotations = owner, idempotency_key, dict(annotations or {})
        doc.not_before, doc.expires_at = not_before, expires_at
        doc.waiting_for, doc.parent = list(waiting_for or []), parent
        claimed = claim_for is not None and not waiting_for and not_before is None
        if claimed:
            doc = self._claimed(doc, claim_for)
        try:
            created = self.jobs.create(doc).doc
        except PreconditionFailed:
            if idempotency_key is None:
                raise JobExists(f"A job with id {job_id} exists already; choose another task_id.") from None
            return self.jobs.read(job_id).doc  # a concurrent call with the same key created it first
        if claimed:
            self._mark(job_id, running=True)
        return created

    def created_claim(self, created: JobStatus) -> Versioned | None:
        """The claim job ``created`` was created with (:meth:`enqueue`'s ``claim_for``) as it stands now, to run it;
        None where the job is no longer held by it (cancelled meanwhile, or its lease ran out and another took it)."""
        current = self.jobs.read(created.job_id)
        lease, held = created.lease, current.doc.lease
        if lease is None or held is None or held.attempt != lease.attempt or current.doc.state not in RUNNING_STATES:
            return None
        return current

    # -- consuming -----------------------------------------------------------
    def claim(self, worker_id: str, *, job_id: str | None = None, tasks: set[str] | None = None) -> Versioned | None:
        """Take the lease of the oldest claimable job (or of ``job_id``); None if there is none.

        On the way it requeues jobs whose lease expired and drops the markers
        of finished jobs, so a fleet of workers needs no separate reaper.
        """
        candidates = [validate_job_id(job_id)] if job_id else self._candidates()
        for candidate in candidates:
            try:
                claimed = self._visit(candidate, worker_id, tasks)
            except CorruptStatus as error:
                log.error("queue.corrupt_status", job_id=candidate, error=str(error))
                continue
            if claimed is not None:
                return claimed
        return None

    def _candidates(self) -> list[str]:
        """Open jobs worth a look, nearly oldest first.

        A fleet of workers that all tried the oldest job first would race for it (one wins, the rest pay
        a failed compare-and-swap each).  So each claim starts at a random place among the first few,
        ``8 + 4 x`` as many as are held by workers (the fleet, about), and goes on in
        order from there, wrapping round: FIFO within that window.
        """
        now = utcnow()
        self._busy = {job_id: until for job_id, until in self._busy.items() if until > now}
        held_recently = timedelta(seconds=self.lease_seconds)  # a held job's lease could have run out since: look again
        markers = self.jobs.open_markers()
        held = {marker.job_id for marker in markers if marker.running and now - marker.since < held_recently} | set(self._busy)
        pending = [marker.job_id for marker in markers if marker.job_id not in held]
        window = min(len(pending), 8 + 4 * len(held))
        start = self._random.randrange(window) if window else 0
        return pending[start:] + pending[:start]

    def _visit(self, job_id: str, worker_id: str, tasks: set[str] | None) -> Versioned | None:
        try:
            current = self.jobs.read(job_id)
        except JobNotFound:
            if time.time() - job_id_time(job_id) > self.creation_grace:
                self.jobs.close(job_id)  # its creation failed long ago; a young marker's document may be on its way
            return None
        doc = current.doc
        if doc.ready:
            # its finisher drops the marker in a moment; a marker still there a lease later lost its finisher
            finished = doc.finished_at or doc.updated_at
            if (utcnow() - finished).total_seconds() > self.lease_seconds:
                self.jobs.close(job_id)
            else:
                self._busy[job_id] = finished + timedelta(seconds=self.lease_seconds)
            return None
        if doc.state in RUNNING_STATES and doc.lease and doc.lease.expired():
            current = self.requeue_expired(job_id, worker_id)
            doc = current.doc
            if doc.ready:
                return None
        if doc.state in RUNNING_STATES and doc.lease:
            self._busy[job_id] = doc.lease.expires_at  # someone has it: look again once its lease could have run out
        elif doc.state in CLAIMABLE_STATES and doc.not_before and doc.not_before > utcnow():
            self._busy[job_id] = doc.not_before
        if tasks is not None and doc.task not in tasks:
            return None
        if doc.expires_at and doc.state in CLAIMABLE_STATES and doc.expires_at <= utcnow():
            self._expire(job_id, worker_id)
            return None
        if doc.state in CLAIMABLE_STATES and doc.waiting_for and self._still_waiting(doc, worker_id):
            return None
        try:
            claimed = self.jobs.update(job_id, lambda d: self._claimed(d, worker_id), seen=current)
        except NotClaimable:
            return None
        if claimed.doc.lease and self.lapsed(claimed.doc.lease):  # the answer came late
            self._hand_back(claimed.doc.lease, job_id)
            return None
        self._mark(job_id, running=True)
        return claimed

    def _hand_back(self, lease: Lease, job_id: str) -> None:
        """Give back a claim whose answer came after its lease could have run out, without running it.

        Another worker may have requeued the job and be running it already: the release is fenced
        (it lands only while this claim's attempt token is still in the document), so it changes
        nothing then.  If it fails for storage reasons the lease runs out and the job is requeued.
        """
        late = (utcnow() - lease.expires_at).total_seconds() + self.lease_seconds * LEASE_MARGIN
        log.warning("queue.claim_lapsed", job_id=job_id, worker_id=lease.worker_id, late_s=round(late, 2))
        try:
            self.release(job_id, lease, "released unrun: the claim was confirmed after its lease could have run out")
        except (LeaseLost, Revoked):
            pass  # taken over or cancelled meanwhile: nothing of this attempt to undo
        except StoreError as error:
            log.warning("queue.claim_not_released", job_id=job_id, error=str(error))

    # -- jobs that wait for others ----------------------------------------------
    def statuses(self, job_ids: list[str]) -> list[JobStatus]:
        """The status of each of ``job_ids`` (the parts a job waits for), in order; a part whose document is
        gone reads as failed."""
        found = []
        for part_id in job_ids:
            try:
                found.append(self.jobs.read(part_id).doc)
            except JobNotFound:
                now = utcnow()
                found.append(JobStatus(job_id=part_id, task="?", state=State.FAILURE, created_at=now, updated_at=now,
                                       error=ErrorInfo(type="JobNotFound", message="its status document no longer exists")))
        return found

    def _still_waiting(self, doc: JobStatus, worker_id: str) -> bool:
        """Whether a claimable job must wait for its parts still; fails it when one of them failed."""
        parts = self.statuses(doc.waiting_for)
        failed = failed_part(parts)
        if failed is not None:
            self._fail_waiting(doc.job_id, failed, worker_id)
            return True
        if all(part.state == State.SUCCESS for part in parts):
            return False
        self._busy[doc.job_id] = utcnow() + timedelta(seconds=self.waiting_recheck)
        return True

    def _fail_waiting(self, job_id: str, part: JobStatus, by: str) -> None:
        """A job whose part failed (after its own retries) or was cancelled fails too, with the part's error."""

        def change(doc: JobStatus) -> JobStatus | None:
            if doc.state not in CLAIMABLE_STATES:
                return None  # claimed, cancelled or failed by someone else first
            return doc.moved(State.FAILURE, worker=by, reason=f"part {part.job_id} is {part.state}", finished_at=utcnow(),
                             error=part_failure(part))

        result = self.jobs.update(job_id, change)
        if result.doc.state == State.FAILURE:
            self.jobs.close(job_id)
            self.revoke_parts(result.doc.waiting_for, by, f"job {job_id} failed with its part {part.job_id}")
            self.attempt_lost(result.doc)

    def _mark(self, job_id: str, *, running: bool) -> None:
        """Update the hint in the job's open marker; a failure costs others a read, so it is only logged."""
        try:
            self.jobs.mark_open(job_id, running=running)
        except StoreError as error:
            log.warning("queue.marker_not_updated", job_id=job_id, error=str(error))

    def _expire(self, job_id: str, worker_id: str) -> None:
        """Revoke a job that was not started before its ``expires_at`` (Celery's ``expires``)."""

        def change(doc: JobStatus) -> JobStatus | None:
            if doc.state not in CLAIMABLE_STATES:
                return None  # someone else expired (or, with a skewed clock, claimed) it first
            return doc.moved(State.REVOKED, worker=worker_id, finished_at=utcnow(),
                             reason=f"expired at {doc.expires_at:%Y-%m-%d %H:%M:%S}Z before it could run")

        if self.jobs.update(job_id, change).doc.ready:
            self.jobs.close(job_id)

    def _claimed(self, doc: JobStatus, worker_id: str) -> JobStatus:
        now = utcnow()
        if doc.state not in CLAIMABLE_STATES or (doc.not_before and doc.not_before > now):
            raise NotClaimable(doc.job_id)
        return doc.moved(
            State.STARTED,
            worker=worker_id,
            reason=f"claimed (attempt {doc.attempts + 1})",
            attempts=doc.attempts + 1,
            lease=Lease(worker_id=worker_id, expires_at=now + timedelta(seconds=self.lease_seconds), attempt=secrets.token_hex(8)),
            not_before=None,
            started_at=doc.started_at or now,
        )

    def requeue_expired(self, job_id: str, by: str) -> Versioned:
        """Give the job of a lost worker another attempt, or fail it when the budget is spent."""

        moved = []

        def change(doc: JobStatus) -> JobStatus | None:
            moved.clear()  # re-run after a lost race: only the version written counts
            if doc.state not in RUNNING_STATES or not doc.lease or not doc.lease.expired():
                return None  # someone renewed or requeued it first
            moved.append(True)
            lost = f"worker {doc.lease.worker_id} lost: lease expired at {doc.lease.expires_at:%H:%M:%S}Z"
            if doc.attempts > doc.max_retries:
                return doc.moved(
                    State.FAILURE, worker=by, reason=lost, lease=None, finished_at=utcnow(),
                    error=ErrorInfo(type="WorkerLost", message=f"The job's worker stopped responding {doc.attempts} times; giving up."),
                )
            return doc.moved(State.RETRY, worker=by, reason=lost, lease=None, not_before=utcnow())

        result = self.jobs.update(job_id, change)
        if moved:
            log.warning("queue.lease_expired", job_id=job_id, state=str(result.doc.state))
            if result.doc.ready:
                self.jobs.close(job_id)
            else:
                self._mark(job_id, running=False)  # waiting for its next attempt
            self.attempt_lost(result.doc)
        return result

    # -- the holder of a lease ---------------------------------------------------
    # A write by the holder (renewal, progress, release, the attempt's last write) checks ``held`` inside its
    # compare-and-swap: it lands only if the document still carries this attempt's token when it is applied.
    # A claim or renewal that lands is checked again once its answer is back (``lapsed``), against the time it
    # was sent (the lease was timed then): a late answer means another worker may have requeued the job since.
    @staticmethod
    def held(doc: JobStatus, holder: Lease) -> None:
        """Raise unless ``holder`` (the lease of one attempt, as claimed) still holds ``doc``."""
        if doc.state == State.REVOKED:
            raise Revoked(doc.job_id)
        lease = doc.lease
        if doc.state not in RUNNING_STATES or lease is None or (lease.worker_id, lease.attempt) != (holder.worker_id, holder.attempt):
            raise LeaseLost(doc.job_id)

    def renewed_lease(self, holder: Lease) -> Lease:
        """``holder``'s lease, timed from now (the write that carries it is about to be sent)."""
        return holder.model_copy(update={"expires_at": utcnow() + timedelta(seconds=self.lease_seconds)})

    def lapsed(self, lease: Lease) -> bool:
        """Whether ``lease`` may have run out: its holder must not start more work on it."""
        return utcnow() >= lease.expires_at - timedelta(seconds=self.lease_seconds * LEASE_MARGIN)

    def release(self, job_id: str, holder: Lease, reason: str) -> Versioned:
        """Hand a running job back to the queue without using up an attempt (clean shutdown, a lapsed lease)."""
        worker_id = holder.worker_id

        def change(doc: JobStatus) -> JobStatus:
            self.held(doc, holder)
            return doc.moved(State.PENDING, worker=worker_id, reason=reason, lease=None, attempts=max(0, doc.attempts - 1))

        result = self.jobs.update(job_id, change)
        self._mark(job_id, running=False)
        return result

    # -- operators -------------------------------------------------------------
    def revoke(self, job_id: str, by: str = "operator", reason: str = "cancelled") -> Versioned:
        """Cancel a job and the unfinished parts it waits for; a running task stops at its next checkpoint."""

        def change(doc: JobStatus) -> JobStatus:
            if doc.ready:
                raise OperationRefused(f"Job {job_id} has already finished ({doc.state}); there is nothing to cancel.")
            return doc.moved(State.REVOKED, worker=by, reason=reason, lease=None, finished_at=utcnow())

        result = self.jobs.update(job_id, change)
        self.jobs.close(job_id)
        self.revoke_parts(result.doc.waiting_for, by, f"{reason} (with job {job_id})")
        return result

    def revoke_parts(self, job_ids: list[str], by: str, reason: str) -> None:
        """Cancel those of ``job_ids`` (a job's parts) that have not finished: a job that ended needs them no more."""
        for part in self.statuses(job_ids):
            if not part.ready:
                with contextlib.suppress(OperationRefused):  # it finished meanwhile
                    self.revoke(part.job_id, by, reason)

    def resume(self, job_id: str, by: str = "operator") -> Versioned:
        """Put a failed, cancelled or stalled job back in the queue, keeping its checkpoint."""

        def change(doc: JobStatus) -> JobStatus:
            stalled = doc.state in RUNNING_STATES and (doc.lease is None or doc.lease.expired())
            if doc.state not in (State.FAILURE, State.REVOKED) and not stalled:
                raise OperationRefused(
                    f"Job {job_id} is {doc.state}; only failed, cancelled or stalled jobs can be resumed."
                )
            return doc.moved(
                State.PENDING, worker=by, reason=f"resumed from {doc.state} (checkpoint: {doc.checkpoint or 'none'})",
                attempts=0, lease=None, error=None, not_before=None, expires_at=None, finished_at=None,
            )

        result = self.jobs.update(job_id, change)
        self.jobs.mark_open(job_id)
        for part in self.statuses(result.doc.waiting_for):  # the parts that failed or were cancelled with it go back too
            if part.state in (State.FAILURE, State.REVOKED):
                self.resume(part.job_id, by)
        return result

    def finish(self, job_id: str, holder: Lease, target: State, **changes: Any) -> Versioned:
        """Record the end of an attempt (SUCCESS, FAILURE, RETRY, or PENDING: waiting for its parts) by the lease holder.

        Fenced: it lands only while ``holder``'s attempt still holds the job, even if its lease ran out
        meanwhile (nobody else can have run it then: taking over is a write that changes the token).
        """

        def change(doc: JobStatus) -> JobStatus:
            self.held(doc, holder)
            final = dict(changes)
            if "meta" in final:  # progress details add up; an attempt's last write does not erase earlier ones
                final["meta"] = {**doc.meta, **final["meta"]}
            if "annotations" in final:  # added to, never replacing others' (a task record saved meanwhile)
                final["annotations"] = {**doc.annotations, **final["annotations"]}
            return doc.moved(target, worker=holder.worker_id, lease=None, **final)

        result = self.jobs.update(job_id, change)
        if target in READY_STATES:
            self.jobs.close(job_id)
            if result.doc.parent:  # the job this was a part of may be ready to go on: look at it in the next claim
                self._busy.pop(result.doc.parent, None)
        else:
            self._mark(job_id, running=False)  # RETRY, PENDING: waiting for its next attempt
        return result


def failed_part(parts: list[JobStatus]) -> JobStatus | None:
    """The first of ``parts`` that failed or was cancelled: the one whose job cannot go on."""
    return next((part for part in parts if part.state in (State.FAILURE, State.REVOKED)), None)


def part_failure(part: JobStatus) -> ErrorInfo:
    """The error of a job whose part failed or was cancelled: the part's own, named (expected if the part's was)."""
    what = "was cancelled" if part.state == State.REVOKED else "failed"
    detail = f": {part.error.message}" if part.error else "."
    return ErrorInfo(type=part.error.type if part.error else "PartRevoked", message=f"Part {part.job_id} of this job {what}{detail}",
                     expected=bool(part.error and part.error.expected))
