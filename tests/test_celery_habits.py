"""What a Celery user reaches for: countdown, eta, expires, task_id, custom states, throws, a cached result."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from ergo_tasks import State
from ergo_tasks.errors import JobExists, UnsupportedOption
from ergo_tasks.ids import InvalidJobId, new_job_id
from tests.helpers import RecordingStore, make_app


@pytest.fixture
def app(local_store):
    app = make_app(local_store, eager=False)

    @app.task(name="add")
    def add(x, y):
        return x + y

    return app


def test_countdown_and_eta_hold_a_job_back(app):
    later = app.tasks["add"].apply_async((1, 2), countdown=0.5)
    assert app.queue.claim("w") is None  # not yet
    time.sleep(0.6)
    assert app.queue.claim("w").doc.job_id == later.id
    naive_utc = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    tomorrow = app.tasks["add"].apply_async((1, 2), eta=naive_utc)
    assert abs((tomorrow.status_doc.not_before - naive_utc.replace(tzinfo=UTC)).total_seconds()) < 0.01
    assert app.queue.claim("w") is None


def test_an_expired_job_is_revoked_instead_of_run(app):
    stale = app.tasks["add"].apply_async((1, 2), expires=0.2)
    fresh = app.tasks["add"].apply_async((3, 4), expires=3600)
    time.sleep(0.3)
    assert app.queue.claim("w").doc.job_id == fresh.id
    assert app.queue.claim("w2") is None  # whichever was looked at first, the expired job is never run
    doc = stale.status_doc
    assert doc.state == State.REVOKED and "expired" in doc.history[-1].reason
    assert app.jobs.open_job_ids() == [fresh.id]  # the expired job's marker is gone; the running one keeps its own


def test_task_id_names_the_job_once(app):
    job_id = new_job_id()
    assert app.tasks["add"].apply_async((1, 2), task_id=job_id).id == job_id
    with pytest.raises(JobExists, match="exists already"):
        app.tasks["add"].apply_async((1, 2), task_id=job_id)
    with pytest.raises(InvalidJobId):
        app.tasks["add"].apply_async((1, 2), task_id="my-own-id")


@pytest.mark.parametrize("option", ["queue", "priority", "link", "routing_key"])
def test_unsupported_options_are_refused_in_words(app, option):
    with pytest.raises(UnsupportedOption, match=f"does not support {option}; it takes countdown"):
        app.tasks["add"].apply_async((1, 2), **{option: "x"})
    with pytest.raises(UnsupportedOption):
        app.send_task("add", (1, 2), **{option: "x"})
    assert list(app.jobs.job_ids()) == []  # nothing was queued


def test_a_custom_state_is_what_the_result_reports_while_running(local_store):
    app = make_app(local_store)
    seen = []

    @app.task(bind=True)
    def upload(self):
        self.update_state(state="UPLOADING", meta={"progress": 40, "part": 3})
        self.writer.flush(wait=True)
        seen.append(app.AsyncResult(self.request.id).state)
        with pytest.raises(ValueError, match="cannot report SUCCESS"):
            self.update_state(state="SUCCESS")
        with pytest.raises(ValueError, match="upper-case word"):
            self.update_state(state="uploading now")
        return "ok"

    job = upload.delay()
    assert seen == ["UPLOADING"] and job.state == "SUCCESS" and job.status_doc.meta["part"] == 3


def test_throws_marks_expected_failures(local_store):
    app = make_app(local_store)

    class OutOfStock(Exception):
        pass

    @app.task(throws=(OutOfStock,), max_retries=0)
    def order():
        raise OutOfStock("No pallets left in aisle 4.")

    @app.task(max_retries=0)
    def crash():
        raise OutOfStock("internal detail /srv/app")

    assert order.delay().status_doc.error.message == "No pallets left in aisle 4."
    assert "internal detail" not in crash.delay().status_doc.error.message


def test_a_finished_result_is_read_once(local_store):
    recording = RecordingStore(local_store)
    app = make_app(recording)

    @app.task
    def add(x, y):
        return x + y

    job = add.delay(2, 3)
    recording.calls.clear()
    assert [job.get(), job.state, job.result, job.successful()] == [5, "SUCCESS", 5, True]
    assert len([call for call in recording.calls if call[0] == "get"]) == 1


def test_eager_mode_waits_out_a_countdown_and_runs_the_job(local_store):
    app = make_app(local_store)  # eager

    @app.task
    def add(x, y):
        return x + y

    started = time.monotonic()
    job = add.apply_async((2, 3), countdown=0.3)
    assert job.state == "SUCCESS" and job.get() == 5 and time.monotonic() - started >= 0.3
