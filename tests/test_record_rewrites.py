"""Two record edits close together (ergo_tasks/analysis/records.py): their rewrites of the PDF report and the workbook
overlap, and the note saying which record the files show must never claim a record the files do not show.

The rewrite itself (:func:`records._rewrite`) is replaced by one that "uploads" a record into a dict, and can be held
between its upload and its note, so the interleaving is the test's, not the machine's."""

from __future__ import annotations

import threading

import pytest

from ergo_tasks.analysis import TASK_MODULES, records
from ergo_tasks.analysis.records import (
    CLAIM_S,
    WRITING,
    change_record,
    claim_files,
    files_current,
    note_record,
    record_annotations,
    record_of,
    sync_record_files,
)
from ergo_tasks.ids import new_job_id
from ergo_tasks.jobstore import JobStore
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from ergo_tasks.states import State
from ergo_tasks.status import JobStatus, TaskRequest
from pipeline.task_record import TaskRecord
from tests.helpers import make_app

FIRST, SECOND, THIRD = (TaskRecord(station=f"Line {line}", assessor="A. Jansen") for line in (3, 4, 5))


class Files:
    """The record files as storage holds them: the record of the upload that landed last; ``hold``: a record whose
    rewrite waits after its upload (before its note) until released."""

    def __init__(self) -> None:
        self.shown: TaskRecord | None = None
        self.uploads: list[TaskRecord] = []
        self.hold, self.uploaded, self.release = None, threading.Event(), threading.Event()

    def rewrite(self, store, doc: JobStatus, record: TaskRecord) -> None:
        self.shown = record
        self.uploads.append(record)
        if record == self.hold:
            self.hold = None
            self.uploaded.set()
            assert self.release.wait(10), "never released"


@pytest.fixture
def job(local_store, monkeypatch):
    """A completed job with FIRST as its record, its files noted as showing FIRST: (app, job id, files)."""
    app = make_app(local_store, tasks=TASK_MODULES)  # the analysis task: the service's update_record wants it
    job_id, files = new_job_id(), Files()
    local_store.put(f"results/{job_id}/result.pkl", b"kept")
    doc = JobStatus.new(job_id, "ergo.analyze_video", TaskRequest(), 0)
    doc = doc.model_copy(update={"state": State.SUCCESS, "result_keys": {"pkl": f"results/{job_id}/result.pkl"},
                                 "annotations": {**record_annotations(FIRST), **records.files_note(FIRST)}})
    app.jobs.create(doc)
    files.shown = FIRST
    monkeypatch.setattr(records, "_rewrite", files.rewrite)
    return app, job_id, files


def honest(jobs: JobStore, job_id: str, files: Files) -> bool:
    """Where the document says its files are current, they show its record."""
    doc = jobs.read(job_id).doc
    return not files_current(doc) or files.shown == record_of(doc)


def test_overlapping_rewrites_never_leave_a_note_over_files_that_show_another_record(job):
    """Edit to SECOND (rewrite A, held between its upload and its note), to THIRD (rewrite B), back to SECOND, then A
    notes: the files must show what the note says.  Without the claim, B uploaded THIRD after A's SECOND and noted it,
    A's older note SECOND then stood as current over files showing THIRD, and no later poll wrote them again."""
    app, job_id, files = job
    files.hold = SECOND
    first = threading.Thread(target=sync_record_files, args=(app, change_record(app.jobs, job_id, SECOND).doc))
    first.start()
    assert files.uploaded.wait(10)  # A has uploaded SECOND and waits before its note
    assert not files_current(app.jobs.read(job_id).doc), "an upload not yet noted: the files are not known current"
    assert sync_record_files(app, change_record(app.jobs, job_id, THIRD).doc) is False, "B must not upload over A"
    change_record(app.jobs, job_id, SECOND)  # the edit undone while A writes
    files.release.set()
    first.join(10)
    assert not first.is_alive()
    doc = app.jobs.read(job_id).doc
    assert files.uploads == [SECOND] and files_current(doc) and WRITING not in doc.annotations
    assert sync_record_files(app, doc) is False and honest(app.jobs, job_id, files)


def test_a_record_saved_while_another_rewrite_writes_is_written_by_that_rewrite(job):
    """A (SECOND) holds the files; THIRD is saved meanwhile and its own sync writes nothing: A, after its note, reads
    the document again and writes THIRD, so the last upload is the record noted."""
    app, job_id, files = job
    files.hold = SECOND
    first = threading.Thread(target=sync_record_files, args=(app, change_record(app.jobs, job_id, SECOND).doc))
    first.start()
    assert files.uploaded.wait(10)
    saved = build_service(app, ServiceSettings()).handle("update_record", {"job_id": job_id, "record": THIRD.model_dump()},
                                                         Caller(client=None, operator=True, internal=False))
    assert saved["files_rewritten"] is False and "being written again" in saved["message"], saved  # not "already show it"
    files.release.set()
    first.join(10)
    doc = app.jobs.read(job_id).doc
    assert files.uploads == [SECOND, THIRD] and files.shown == THIRD and files_current(doc) and honest(app.jobs, job_id, files)


def test_a_rewrite_whose_claim_was_taken_over_notes_nothing(job):
    """A writer that stalled past CLAIM_S lost its claim: its note is refused, the taker's stands."""
    app, job_id, _ = job
    change_record(app.jobs, job_id, SECOND)
    stalled, _ = claim_files(app.jobs, job_id, now=1000.0)
    assert stalled and claim_files(app.jobs, job_id, now=1000.0 + CLAIM_S / 2)[0] is None  # held: no second writer
    taker, _ = claim_files(app.jobs, job_id, now=1000.0 + CLAIM_S + 1)
    assert taker not in (None, stalled)
    refused = note_record(app.jobs, job_id, FIRST, stalled).doc
    assert refused.annotations[records.FILES_RECORD] == records.record_digest(FIRST) and not files_current(refused)
    noted = note_record(app.jobs, job_id, SECOND, taker).doc
    assert files_current(noted) and WRITING not in noted.annotations


def test_a_failed_rewrite_gives_its_claim_back(job, monkeypatch):
    app, job_id, files = job

    def broken(store, doc, record):
        raise OSError("disk full")

    monkeypatch.setattr(records, "_rewrite", broken)
    with pytest.raises(OSError):
        sync_record_files(app, change_record(app.jobs, job_id, SECOND).doc)
    doc = app.jobs.read(job_id).doc
    assert WRITING not in doc.annotations and not files_current(doc)
    monkeypatch.setattr(records, "_rewrite", files.rewrite)
    assert sync_record_files(app, doc) is True and files.shown == SECOND and files_current(app.jobs.read(job_id).doc)
