"""Persistence of status documents, and the index of work to do.

Keys::

    status/<job_id>.json      the status document (source of truth)
    queue/open/<job_id>       marker: the job is not finished (queued, waiting
                              to retry, or running)

The marker is a hint, never truth: a worker lists ``queue/open/``, reads each
job's document and decides (claim it, requeue it if its lease expired, skip
it).  Finding work therefore costs the same with 10 or 10,000 finished jobs in
the bucket.  A marker is removed only once its job is finished, and
:meth:`JobStore.close` re-checks after removing it, so a job resumed at that
very moment keeps its marker.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import structlog
from pydantic import ValidationError

from statestore import ObjectNotFound, ObjectStore, PreconditionFailed, StorageUnavailable, StoreError

from .errors import ConflictError, CorruptStatus, JobNotFound
from .ids import validate_job_id
from .status import JobStatus
from .timeutil import utcnow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Versioned:
    doc: JobStatus
    etag: str


#: The body of the open marker of a job a worker holds (a waiting job's marker is empty).
RUNNING_MARK = b"r"


@dataclass(frozen=True)
class OpenMarker:
    job_id: str
    running: bool  # what the marker said when listed: a hint
    since: datetime  # when the marker was last written


def _stamped(doc: JobStatus) -> JobStatus:
    """``doc`` as it is about to be written: a fresh write token, and the write's time as ``updated_at``
    (from which the next writer measures the interval)."""
    return doc.model_copy(update={"write_token": secrets.token_hex(8), "updated_at": utcnow()})


class JobStore:
    """Reads and compare-and-swap writes of status documents; owns the ``status/`` and ``queue/`` keys."""

    #: Where status documents live: ``status/<job_id>.json``.
    status_prefix = "status/"
    #: Where the markers of unfinished jobs live: ``queue/open/<job_id>``.
    open_prefix = "queue/open/"
    #: Where an idempotency key names its job: ``queue/keys/<sha256 of the key>`` holds the job id.
    keys_prefix = "queue/keys/"
    #: How many lost races :meth:`update` absorbs before giving up.
    max_races = 20

    def __init__(self, store: ObjectStore, min_write_interval: float = 0.0):
        self.store = store
        #: Least seconds between two writes of one status document, by anyone (R2 allows about one write
        #: per second per key).  The last write's time is the document's ``updated_at``.
        self.min_write_interval = min_write_interval

    def settling(self, doc: JobStatus) -> float:
        """Seconds until ``doc`` may be written again (0 when it may be now)."""
        since = (utcnow() - doc.updated_at).total_seconds()
        return min(self.min_write_interval, max(0.0, self.min_write_interval - since))

    @classmethod
    def status_key(cls, job_id: str) -> str:
        return f"{cls.status_prefix}{validate_job_id(job_id)}.json"

    # -- documents -----------------------------------------------------------
    def create(self, doc: JobStatus) -> Versioned:
        """Write a new job: its open marker first, then its document (If-None-Match).

        In that order a failure leaves either a job that will be run, or no job: a marker without a
        document is dropped by the next claim once it is older than :attr:`creation_grace`, and a
        document never exists without its marker.
        """
        self.mark_open(doc.job_id)
        doc = _stamped(doc)
        try:
            etag = self.store.put(self.status_key(doc.job_id), doc.to_json(), if_none_match=True, content_type="application/json")
            created = Versioned(doc, etag)
        except (PreconditionFailed, StorageUnavailable) as error:
            created = self._landed(doc, error)
        return created

    def job_for_key(self, idempotency_key: str, new_id: str) -> str:
        """The job id that ``idempotency_key`` names: recorded once (If-None-Match), ``new_id`` if this call records it."""
        key = self.keys_prefix + hashlib.sha256(idempotency_key.encode()).hexdigest()
        try:
            self.store.put(key, new_id.encode(), if_none_match=True, content_type="text/plain")
            return new_id
        except (PreconditionFailed, StorageUnavailable) as error:
            try:
                return validate_job_id(self.store.get(key).body.decode())  # recorded before (or by this very call)
            except ObjectNotFound:
                raise error from None

    def read(self, job_id: str) -> Versioned:
        key = self.status_key(job_id)
        try:
            stored = self.store.get(key)
        except ObjectNotFound:
            raise JobNotFound(job_id) from None
        try:
            return Versioned(JobStatus.from_json(stored.body), stored.etag)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "document"
            raise CorruptStatus(f"The status document of job {job_id} is malformed ({where}: {first['msg']}); it was left untouched.") from None

    def write(self, current: Versioned, new: JobStatus) -> Versioned:
        """Replace ``current`` with ``new`` if nobody wrote in between; else PreconditionFailed.

        Waits first, if needed, so that writes to the key stay ``min_write_interval`` apart.
        """
        wait = self.settling(current.doc)
        if wait > 0:
            time.sleep(wait)
        new = _stamped(new)
        try:
            etag = self.store.put(self.status_key(new.job_id), new.to_json(), if_match=current.etag, content_type="application/json")
        except (PreconditionFailed, StorageUnavailable) as error:
            return self._landed(new, error)
        return Versioned(new, etag)

    def _landed(self, doc: JobStatus, error: StoreError) -> Versioned:
        """The stored version if it is ``doc``'s own write (its answer was lost), else ``error`` again.

        A conditional write whose connection broke after the server applied it is retried by the
        storage layer, and the retry is refused (the document already changed, by this very write);
        or the retries ran out with the outcome unknown.  Reading back settles it: the write token
        says whose version is stored, so a write is neither lost nor applied twice.
        """
        try:
            stored = self.read(doc.job_id)
        except (JobNotFound, StoreError):
            raise error from None
        if stored.doc.write_token != doc.write_token:
            raise error
        log.info("status.write_confirmed", job_id=doc.job_id, after=type(error).__name__)
        return stored

    def update(self, job_id: str, change: Callable[[JobStatus], JobStatus | None], *, seen: Versioned | None = None) -> Versioned:
        """Apply ``change`` with compare-and-swap, re-reading and re-applying on a lost race.

        ``change`` gets the current document and returns the new one, ``None``
        for "nothing to do", or raises (for example IllegalTransition) to give
        up; it must be a pure function of the document since it may run again.
        ``seen``: a version the caller has just read, tried first instead of a
        fresh read (the compare-and-swap tells if it is stale).
        """
        for _ in range(self.max_races):
            current, seen = seen or self.read(job_id), None
            new = change(current.doc)
            if new is None:
                return current
            try:
                return self.write(current, new)
            except PreconditionFailed:
                log.debug("status.race_lost", job_id=job_id)
        raise ConflictError(f"Job {job_id} is being changed by too many writers at once; try again.")

    def delete(self, current: Versioned) -> None:
        """Remove a job: its document (only the version read: PreconditionFailed if it changed), then its
        marker and its idempotency record."""
        doc = current.doc
        self.store.delete(self.status_key(doc.job_id), if_match=current.etag)
        self.store.delete(self.open_prefix + doc.job_id)
        if doc.idempotency_key:
            self.store.delete(self.keys_prefix + hashlib.sha256(doc.idempotency_key.encode()).hexdigest())

    def job_ids(self) -> Iterator[str]:
        """Every job id, oldest first (ids sort by creation time)."""
        for info in self.store.list(self.status_prefix):
            name = info.key[len(self.status_prefix):]
            if name.endswith(".json"):
                yield name[: -len(".json")]

    def recent(self, *, state: str | None = None, before: str | None = None, parts: bool = False) -> Iterator[JobStatus]:
        """Status documents newest first, optionally of one state and older than job ``before``; the parts of
        other jobs only with ``parts``.

        Only the listing walks every key; documents are read one by one as the caller consumes
        them. Unreadable documents are logged and skipped.
        """
        for job_id in reversed(list(self.job_ids())):
            if before is not None and job_id >= before:
                continue
            try:
                doc = self.read(job_id).doc
            except (JobNotFound, CorruptStatus) as error:
                log.warning("status.unreadable", job_id=job_id, error=str(error))
                continue
            if (state is None or doc.state == state) and (parts or doc.parent is None):
                yield doc

    # -- work index --------------------------------------------------------------
    def mark_open(self, job_id: str, *, running: bool = False) -> None:
        """(Re)write a job's open marker: empty while it waits, one byte while a worker holds it.

        The listing of ``queue/open/`` carries each marker's size, so a worker looking for work can
        pass the running jobs by without reading their documents.  The marker is a hint: a wrong one
        costs a read, never a wrong decision (the document decides).
        """
        self.store.put(self.open_prefix + validate_job_id(job_id), RUNNING_MARK if running else b"", content_type="text/plain")

    def open_markers(self) -> list[OpenMarker]:
        """Unfinished jobs, oldest first, with what their markers say."""
        return [OpenMarker(info.key[len(self.open_prefix):], info.size > 0, info.last_modified)
                for info in self.store.list(self.open_prefix)]

    def open_job_ids(self) -> list[str]:
        """Unfinished jobs, oldest first."""
        return [marker.job_id for marker in self.open_markers()]

    def close(self, job_id: str) -> None:
        """Drop the open marker of a finished job.

        Re-reads afterwards: if the job was resumed meanwhile, the marker is put
        back, so no unfinished job is ever left without one.
        """
        self.store.delete(self.open_prefix + job_id)
        try:
            if not self.read(job_id).doc.ready:
                self.mark_open(job_id)
        except JobNotFound:
            pass
