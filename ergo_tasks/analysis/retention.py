"""Removing finished analyses and everything they left in the bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from ..app import TaskApp
from ..states import READY_STATES
from ..status import JobStatus
from ..timeutil import utcnow
from .keys import UPLOADS, checkpoint_prefix, results_prefix


def finished_before(app: TaskApp, days: float) -> Iterator[JobStatus]:
    """Finished jobs whose end lies more than ``days`` days back, newest first."""
    cutoff = utcnow() - timedelta(days=days)
    for doc in app.jobs.recent():
        if doc.state in READY_STATES and (doc.finished_at or doc.updated_at) < cutoff:
            yield doc


def purge_job(app: TaskApp, doc: JobStatus) -> None:
    """Delete a finished job's checkpoints, results, uploaded video and status document."""
    app.store.delete_prefix(checkpoint_prefix(doc.job_id))
    app.store.delete_prefix(results_prefix(doc.job_id))
    upload = doc.request.kwargs.get("video_key")
    if isinstance(upload, str) and upload.startswith(UPLOADS):
        app.store.delete(upload)
    app.jobs.delete(doc)
