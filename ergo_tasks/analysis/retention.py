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
from .keys import COMPARISONS, UPLOADS, checkpoint_prefix, compared_jobs, results_prefix


def finished_before(app: TaskApp, days: float) -> Iterator[JobStatus]:
    """Finished jobs whose end lies more than ``days`` days back, newest first."""
    cutoff = utcnow() - timedelta(days=days)
    for doc in app.jobs.recent():
        if doc.state in READY_STATES and (doc.finished_at or doc.updated_at) < cutoff:
            yield doc


def can_resume(doc: JobStatus) -> bool:
    """A finished job an operator may resume: cancelled, or failed for a reason running it again can change."""
    return doc.state == State.REVOKED or (doc.state == State.FAILURE and not (doc.error and doc.error.expected))


def _may_need(doc: JobStatus) -> str | None:
    """The video a job that can still run or be resumed refers to (None for any other job)."""
    video = doc.request.kwargs.get("video_key")
    return video if isinstance(video, str) and (not doc.ready or can_resume(doc)) else None


class VideoUsers:
    """Which jobs may still need each video: every status document read once, when a purge begins, then checked
    again at each deletion, so a job started, resumed or cancelled since then keeps its video.

    At a deletion, the jobs read are those that needed the video at the start, every unfinished job (a job
    resumed since is unfinished again) and every job created since; never the whole bucket again.
    """

    def __init__(self, app: TaskApp):
        self.app = app
        self.seen: set[str] = set()
        self.users: dict[str, set[str]] = {}
        for doc in app.jobs.recent(parts=True):
            self.seen.add(doc.job_id)
            if video := _may_need(doc):
                self.users.setdefault(video, set()).add(doc.job_id)

    def needed(self, video: str) -> bool:
        """Whether a job that can still run or be resumed refers to ``video``, read now."""
        newer = (job_id for job_id in self.app.jobs.job_ids() if job_id not in self.seen)
        candidates = self.users.get(video, set()) | set(self.app.jobs.open_job_ids()) | set(newer)
        for job_id in sorted(candidates):
            try:
                if _may_need(self.app.jobs.read(job_id).doc) == video:
                    return True
            except JobNotFound:
                continue
        return False


def purge_job(app: TaskApp, job_id: str, users: VideoUsers | None = None) -> bool:
    """Delete a finished job: its status document first (only the version read, and only if it is still
    finished), then its marker, key record, checkpoints, results, comparisons and video, unless a job still needs the video
    (``users``: made once for a purge of many jobs; read here when not given).

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
    if current.doc.parent is None:  # a comparison shows both its jobs (their scores, their task records): it goes with either
        for info in list(app.store.list(COMPARISONS)):
            if job_id in compared_jobs(info.key):
                app.store.delete(info.key)
    for part in current.doc.waiting_for:  # the parts it was analysed in (any still running is left alone)
        purge_job(app, part, users)
    upload = current.doc.request.kwargs.get("video_key")
    if isinstance(upload, str) and upload.startswith(UPLOADS) and not (users or VideoUsers(app)).needed(upload):
        app.store.delete(upload)
    return True


class CheckpointCleanup(Middleware):
    """Removes a job's checkpoints once it has succeeded (a failed or cancelled job keeps them for a resume)."""

    def after_process(self, app: TaskApp, doc: JobStatus) -> None:
        if doc.state == State.SUCCESS:
            app.store.delete_prefix(checkpoint_prefix(doc.job_id))
