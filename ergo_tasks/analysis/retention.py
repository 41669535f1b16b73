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


def uploads_in_use(app: TaskApp) -> set[str]:
    """The videos that unfinished jobs still need (every unfinished job has an open marker)."""
    needed = set()
    for job_id in app.jobs.open_job_ids():
        try:
            doc = app.jobs.read(job_id).doc
        except JobNotFound:
            continue
        if not doc.ready and isinstance(doc.request.kwargs.get("video_key"), str):
            needed.add(doc.request.kwargs["video_key"])
    return needed


def purge_job(app: TaskApp, job_id: str, keep: set[str]) -> bool:
    """Delete a finished job: its status document first (only the version read, and only if it is still
    finished), then its marker, key record, checkpoints, results and video, unless the video is in ``keep``.

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
        purge_job(app, part, keep)
    upload = current.doc.request.kwargs.get("video_key")
    if isinstance(upload, str) and upload.startswith(UPLOADS) and upload not in keep:
        app.store.delete(upload)
    return True


class CheckpointCleanup(Middleware):
    """Removes a job's checkpoints once it has succeeded (a failed or cancelled job keeps them for a resume)."""

    def after_process(self, app: TaskApp, doc: JobStatus) -> None:
        if doc.state == State.SUCCESS:
            app.store.delete_prefix(checkpoint_prefix(doc.job_id))
