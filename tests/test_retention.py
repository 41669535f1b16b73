"""Purge never deletes a video that a job which can still run or be resumed refers to, checked at each deletion."""

from __future__ import annotations

from ergo_tasks import State
from ergo_tasks.analysis.retention import VideoUsers, purge_job
from ergo_tasks.status import ErrorInfo
from tests.helpers import make_app

VIDEO = "uploads/" + "c" * 32 + "/line.mp4"


def _finished(app, state: State, **finish) -> str:
    job_id = app.queue.enqueue("t", [], {"video_key": VIDEO}, 0).job_id
    claimed = app.queue.claim("w", job_id=job_id)
    app.queue.finish(job_id, claimed.doc.lease, state, reason="done", **finish)
    return job_id


def test_a_cancelled_job_offered_for_resume_keeps_its_video_when_an_older_job_on_it_is_purged(local_store):
    """The issue's case: uploads_in_use counted open jobs only, so the cancelled (resumable) job lost its upload."""
    app = make_app(local_store, eager=False)
    local_store.put(VIDEO, b"video")
    old = _finished(app, State.SUCCESS)
    cancelled = app.queue.enqueue("t", [], {"video_key": VIDEO}, 0).job_id
    app.queue.revoke(cancelled, by="owner (api)", reason="cancelled through the API")
    assert purge_job(app, old) and local_store.exists(VIDEO)
    assert purge_job(app, cancelled) and not local_store.exists(VIDEO)  # the last job that needed it is gone: so is it


def test_a_job_started_after_the_purge_began_keeps_the_video(local_store):
    """Checked per deletion: a job queued while a purge runs (after any list of videos in use was made) keeps it."""
    app = make_app(local_store, eager=False)
    local_store.put(VIDEO, b"video")
    old = _finished(app, State.SUCCESS)
    app.queue.enqueue("t", [], {"video_key": VIDEO}, 0)
    assert purge_job(app, old) and local_store.exists(VIDEO)


def test_a_failure_that_would_fail_again_does_not_keep_the_video(local_store):
    app = make_app(local_store, eager=False)
    local_store.put(VIDEO, b"video")
    old = _finished(app, State.SUCCESS)
    _finished(app, State.FAILURE, error=ErrorInfo(type="InvalidVideo", message="not a video", expected=True))
    assert purge_job(app, old) and not local_store.exists(VIDEO)


def test_a_batch_reads_every_job_once_and_still_sees_what_changed_before_each_deletion(local_store):
    """purge_jobs reads the bucket once per batch (VideoUsers), then at each deletion the jobs that can have
    changed: one created and cancelled since, one resumed since."""
    app = make_app(local_store, eager=False)
    local_store.put(VIDEO, b"video")
    old, older = _finished(app, State.SUCCESS), _finished(app, State.SUCCESS)
    other = "uploads/" + "d" * 32 + "/other.mp4"
    local_store.put(other, b"video")
    failed = app.queue.enqueue("t", [], {"video_key": other}, 0).job_id
    claimed = app.queue.claim("w", job_id=failed)
    app.queue.finish(failed, claimed.doc.lease, State.FAILURE, reason="done", error=ErrorInfo(type="X", message="x", expected=True))
    users = VideoUsers(app)
    since = app.queue.enqueue("t", [], {"video_key": VIDEO}, 0).job_id
    app.queue.revoke(since, by="owner (api)", reason="cancelled")  # finished again before the deletion: no open marker
    assert purge_job(app, old, users) and local_store.exists(VIDEO)
    assert purge_job(app, since, users) and purge_job(app, older, users) and not local_store.exists(VIDEO)
    app.queue.resume(failed)  # an operator resumes it after the batch began
    finished = _finished(app, State.SUCCESS)
    current = app.jobs.read(finished)
    app.jobs.write(current, current.doc.updated(request=current.doc.request.model_copy(update={"kwargs": {"video_key": other}})))
    assert purge_job(app, finished, users) and local_store.exists(other)
