"""A job's task record (station, task, department, assessor, notes): kept in its status document, shown by its files.

The record (:class:`pipeline.task_record.TaskRecord`) lives in the job's status document, under
``annotations["record"]``: given when the job is created, and changed later by one compare-and-swap that touches
nothing else of the job (:func:`change_record`; its state, history and result stay as they are).

Two result files show it, the workbook and the PDF report (:data:`pipeline.results.RECORD_FILES`).  The task writes
them with the record its document holds at that moment, and notes in the same document which record that was
(``annotations["record_files"]``: a digest of it, carried by the write that records the result), so that whether the files are up to date is read from the status
document alone, which every poll reads anyway (:func:`files_current`).  Whenever the note is behind the record (it
was edited after the job completed, or while it wrote its files), :func:`sync_record_files` writes the two files
again from the stored result (``result.pkl``) and its posture pictures, then the note: the pose model and the
scoring are not run again, and the scores cannot change.  A write cut short leaves the note behind, so the next sync
finishes it.  A job whose files were never noted (written before records, or before the note moved into the
document) counts as showing an empty record.

Two edits close together would start two rewrites whose uploads overlap, and the files are then whichever upload
landed last, not whichever note was written last.  So a rewrite first claims the job's files in its document
(``annotations["record_files_writing"]``, by compare-and-swap), and notes its record only while its claim still
holds (the same compare-and-swap, which drops the claim): a rewrite that finds the files claimed writes nothing,
since the one writing reads the document again after its note and writes the newer record too.  A claim older than
:data:`CLAIM_S` (its writer died) is taken over, and the old writer's note is then refused.
"""

from __future__ import annotations

import hashlib
import time
import uuid

import structlog
from pydantic import ValidationError

from pipeline.task_record import TaskRecord
from statestore import ObjectStore

from ..app import TaskApp
from ..jobstore import JobStore, Versioned
from ..states import State
from ..status import JobStatus
from .keys import results_prefix
from .scratch import scratch_folder

log = structlog.get_logger(__name__)

#: Where the status document keeps the record (``annotations``), and the note of which record the files show.
RECORD = "record"
FILES_RECORD = "record_files"
#: Where a rewrite of the record files claims them (one rewrite at a time), and how long a claim holds (seconds): a
#: rewrite takes seconds; one held longer is a dead writer's.
WRITING = "record_files_writing"
CLAIM_S = 300.0
#: How often one sync writes the files again when the record keeps changing meanwhile (the next sync goes on).
SYNC_ROUNDS = 3


def record_of(doc: JobStatus) -> TaskRecord:
    """The job's task record; empty for a job that was given none (or made before records).

    What was stored was checked when it was stored; one that no longer passes (limits changed since) is shown as it
    is rather than failing every read of the job."""
    stored = doc.annotations.get(RECORD) or {}
    try:
        return TaskRecord.model_validate(stored)
    except ValidationError:
        log.warning("record.stored_unreadable", job_id=doc.job_id)
        return TaskRecord.model_construct(**{name: str(stored.get(name) or "") for name in TaskRecord.model_fields})


def record_annotations(record: TaskRecord | None) -> dict:
    """What a new job's annotations hold for ``record``: nothing for none."""
    return {RECORD: record.model_dump()} if record is not None and not record.is_empty() else {}


def change_record(jobs: JobStore, job_id: str, record: TaskRecord) -> Versioned:
    """Store ``record`` in the job's document (compare-and-swap; re-applied on a lost race): only the record changes."""
    data = record.model_dump()

    def change(doc: JobStatus) -> JobStatus | None:
        if record_of(doc) == record:
            return None  # already so: nothing written
        return doc.updated(annotations={**doc.annotations, RECORD: data})

    return jobs.update(job_id, change)


def record_digest(record: TaskRecord) -> str:
    """A short fingerprint of ``record``: what the note keeps (the record itself may be 2 KB of notes)."""
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()[:16]


def files_current(doc: JobStatus) -> bool:
    """Whether the job's record files show the record its document holds, as the document notes (no other read); not
    while a rewrite holds them (:func:`claim_files`): its upload may already have landed, its note not yet."""
    if doc.annotations.get(WRITING):
        return False
    return doc.annotations.get(FILES_RECORD, record_digest(TaskRecord())) == record_digest(record_of(doc))


def files_note(record: TaskRecord) -> dict[str, str]:
    """The annotation noting that the record files show ``record`` (:data:`FILES_RECORD`)."""
    return {FILES_RECORD: record_digest(record)}


def claim_files(jobs: JobStore, job_id: str, now: float | None = None) -> tuple[str | None, Versioned]:
    """Claim the job's record files for one rewrite (compare-and-swap): its token, None where another rewrite holds a
    claim younger than :data:`CLAIM_S`; and the document as it is then."""
    token, now = uuid.uuid4().hex, time.time() if now is None else now

    def change(doc: JobStatus) -> JobStatus | None:
        held = doc.annotations.get(WRITING)
        if held and now - held["at"] < CLAIM_S:
            return None
        return doc.updated(annotations={**doc.annotations, WRITING: {"token": token, "at": now}})

    current = jobs.update(job_id, change)
    return (token if _claim_of(current.doc) == token else None), current


def note_record(jobs: JobStore, job_id: str, record: TaskRecord, token: str) -> Versioned:
    """Note in the job's document that its record files now show ``record`` and drop the claim ``token`` (written
    after the files; compare-and-swap, only the note and the claim change), only while that claim holds: a rewrite
    whose claim was taken over no longer knows whose upload landed last.  The document as it is then.  A job notes
    its files with its result (:func:`files_note`, in its last write); this is for the files written again later."""

    def change(doc: JobStatus) -> JobStatus | None:
        if _claim_of(doc) != token:
            return None
        kept = {name: value for name, value in doc.annotations.items() if name != WRITING}
        return doc.updated(annotations={**kept, **files_note(record)})

    return jobs.update(job_id, change)


def release_files(jobs: JobStore, job_id: str, token: str) -> None:
    """Drop the claim ``token`` without a note (its rewrite failed), so that the next sync need not wait it out."""

    def change(doc: JobStatus) -> JobStatus | None:
        if _claim_of(doc) != token:
            return None
        return doc.updated(annotations={name: value for name, value in doc.annotations.items() if name != WRITING})

    jobs.update(job_id, change)


def _claim_of(doc: JobStatus) -> str | None:
    return (doc.annotations.get(WRITING) or {}).get("token")


def sync_record_files(app: TaskApp, doc: JobStatus) -> bool:
    """Write the completed job's record files again where they do not show its record (``doc``: its document as just
    read); whether it wrote them.

    A job not completed yet is left alone (its task writes the files with the record it finds then), and so is one
    whose result files have expired.  Files that were never noted count as showing an empty record.  After writing,
    the document is read again: a record saved meanwhile is written too.  Where another rewrite holds the files
    (:func:`claim_files`), nothing is written here: that one writes a record saved meanwhile after its own.
    """
    store, wrote = app.store, False
    for _ in range(SYNC_ROUNDS):
        if not _behind(store, doc):
            return wrote
        token, current = claim_files(app.jobs, doc.job_id)
        if token is None:
            return wrote
        doc = current.doc
        if not _behind(store, doc):  # written by the rewrite that held the claim just before
            release_files(app.jobs, doc.job_id, token)
            return wrote
        record = record_of(doc)
        try:
            _rewrite(store, doc, record)
        except BaseException:
            release_files(app.jobs, doc.job_id, token)
            raise
        wrote = True
        doc = note_record(app.jobs, doc.job_id, record, token).doc  # read again as it is noted: a record saved meanwhile
    log.warning("record.still_changing", job_id=doc.job_id)  # the next sync goes on from here
    return wrote


def _behind(store: ObjectStore, doc: JobStatus) -> bool:
    """Whether the completed job's record files are behind its record and can be written again (its result kept)."""
    if doc.state != State.SUCCESS or "pkl" not in doc.result_keys or files_current(doc):
        return False
    return store.exists(doc.result_keys["pkl"])


def _rewrite(store: ObjectStore, doc: JobStatus, record: TaskRecord) -> None:
    """The workbook and the PDF report again, from the stored result and pictures, showing ``record``."""
    from pipeline.results import CONTENT_TYPES, FILES, PICTURES, RECORD_FILES, load_result, write_record_files

    with scratch_folder() as scratch:
        result = load_result(store.get(doc.result_keys["pkl"]).body)
        for picture in result.pictures:
            key = doc.result_keys.get(f"{PICTURES}/{picture.file}")
            if key:
                (scratch / PICTURES).mkdir(exist_ok=True)
                store.download_file(key, scratch / PICTURES / picture.file)
        result.pictures = [p for p in result.pictures if (scratch / PICTURES / p.file).exists()]
        paths = write_record_files(result, scratch, record)
        for artifact in RECORD_FILES:
            store.upload_file(doc.result_keys.get(artifact) or f"{results_prefix(doc.job_id)}{FILES[artifact]}", paths[artifact],
                              content_type=CONTENT_TYPES[artifact])
    log.info("record.files_written", job_id=doc.job_id)
