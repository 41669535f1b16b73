"""Removing finished analyses and everything they left in the bucket, and nothing a live job needs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from statestore import PreconditionFailed

from ..app import TaskApp
from ..errors import JobNotFound
from ..middleware import Middleware
from ..states import READY_STATES, State
from ..status import JobStatus
from ..timeutil import utcnow
from .keys import UPLOADS, checkpoint_prefix, results_prefix


def finished_before(app: TaskApp, days: float) -> Iterator[JobStatus]:
    """Finished jobs whose end lies more than ``days`` days back, newest first."""
    cutoff = utcnow() - timedelta(days=days)
    for doc in app.jobs.recent():
        if doc.state in READY_STATES and (doc.finished_at or doc.updated_at) < cutoff:
            yield doc


def can_resume(doc: JobStatus) -> bool:
    """A finished job an operator may resume: cancelled, or failed for a reason running it again can change."""
    return doc.state == State.REVOKED or (doc.state == State.FAILURE and not (doc.error and doc.error.expected))


def video_needed(app: TaskApp, key: str) -> bool:
    """Whether a job that can still run or be resumed refers to the video ``key``.

    Read at each deletion, from every status document: a job started or resumed since the purge began, and a
    cancelled job still offered for resume, keep their video.
    """
    return any(doc.request.kwargs.get("video_key") == key and (not doc.ready or can_resume(doc))
               for doc in app.jobs.recent(parts=True))


def purge_job(app: TaskApp, job_id: str) -> bool:
    """Delete a finished job: its status document first (only the version read, and only if it is still
    finished), then its marker, key record, checkpoints, results and video, unless a job still needs the video.

    Returns False, deleting nothing, when the job changed meanwhile (an operator resumed it, say).
    Whatever a crash leaves behind after the document is gone, the bucket's lifecycle rules expire.
    """
    try:
        current = app.jobs.read(job_id)
    except JobNotFound:
        return False
    if not current.doc.ready:
        return False
    try:
        app.jobs.delete(current)
    except PreconditionFailed:
        return False
    app.store.delete_prefix(checkpoint_prefix(job_id))
    app.store.delete_prefix(results_prefix(job_id))
    for part in current.doc.waiting_for:  # the parts it was analysed in (any still running is left alone)
        purge_job(app, part)
    upload = current.doc.request.kwargs.get("video_key")
    if isinstance(upload, str) and upload.startswith(UPLOADS) and not video_needed(app, upload):
        app.store.delete(upload)
    return True


class CheckpointCleanup(Middleware):
    """Removes a job's checkpoints once it has succeeded (a failed or cancelled job keeps them for a resume)."""

    def after_process(self, app: TaskApp, doc: JobStatus) -> None:
        if doc.state == State.SUCCESS:
            app.store.delete_prefix(checkpoint_prefix(doc.job_id))
