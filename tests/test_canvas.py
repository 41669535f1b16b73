"""Groups, chords and tasks that wait for the parts they handed out, over object storage alone."""

from __future__ import annotations

import contextlib

import pytest

from ergo_tasks import State, TaskFailed, chord, group
from tests.helpers import ergo_process, make_app, storage_env, wait_for


@pytest.fixture
def app(local_store):
    return make_app(local_store, tasks=("tests.sample_tasks",), eager=False)


def tasks(app):
    return app.tasks["tests.add"], app.tasks["tests.total"], app.tasks["tests.refuse"]


def test_a_group_queues_every_job_and_gets_their_results_in_order(local_store):
    app = make_app(local_store, tasks=("tests.sample_tasks",))  # eager: each runs as it is queued
    add, _, _ = tasks(app)
    result = group(add.s(i, i) for i in range(5)).apply_async()
    assert result.get(timeout=5) == [0, 2, 4, 6, 8] and result.successful() and result.completed_count() == 5


def test_a_chords_body_waits_for_the_header_and_gets_its_results(app):
    add, total, _ = tasks(app)
    body = chord([add.s(1, 2), add.s(3, 4)])(total.s(offset=100))
    doc = body.status_doc
    assert doc.state == State.PENDING and len(doc.waiting_for) == 2 and doc.request.results_of == doc.waiting_for
    assert app.queue.claim("worker-1", job_id=body.id) is None  # not before its header has run
    for job_id in doc.waiting_for:
        app.run_until_ready(job_id, "worker-1")
    assert app.run_until_ready(body.id, "worker-1").state == State.SUCCESS
    assert body.get(timeout=5) == 110  # total([3, 7], offset=100)


def test_a_chord_runs_whole_in_eager_mode(local_store):
    app = make_app(local_store, tasks=("tests.sample_tasks",))
    add, total, _ = tasks(app)
    assert chord(group(add.s(i, 1) for i in range(4)), total.s()).apply_async().get(timeout=5) == 10


def test_a_failed_header_job_fails_the_body_with_its_error(app):
    add, total, refuse = tasks(app)
    body = chord([add.s(1, 2), refuse.s("not a video")])(total.s())
    assert app.run_until_ready(body.id, "worker-1").state == State.FAILURE  # runs the header here, then sees the failure
    doc = body.status_doc
    part = doc.waiting_for[1]
    assert doc.error.message == f"Part {part} of this job failed: not a video"
    assert doc.error.expected and doc.error.type == "ValueError"  # the part's failure was expected: so is this one
    assert [t.to_state for t in doc.history] == [State.PENDING, State.FAILURE]  # never ran
    with pytest.raises(TaskFailed, match="not a video"):
        body.get(timeout=1)


def test_a_task_waits_for_its_parts_without_holding_a_worker_and_runs_again_with_their_results(app):
    job = app.send_task("tests.split", [[1, 2, 3]])
    first = app.run_claimed_job(job.id, "worker-1")  # the first run hands out the parts and waits
    assert first.state == State.PENDING and len(first.waiting_for) == 3 and first.lease is None
    assert first.attempts == 0  # waiting does not use up an attempt
    assert app.queue.claim("worker-2", job_id=job.id) is None
    parts = app.queue.statuses(first.waiting_for)
    assert {part.parent for part in parts} == {job.id} and {part.state for part in parts} == {State.PENDING}
    for part in parts:
        app.run_until_ready(part.job_id, "worker-2")
    done = app.run_until_ready(job.id, "worker-1")
    assert done.state == State.SUCCESS and done.result == {"total": 12, "runs": 1}
    assert done.waiting_for == first.waiting_for  # the second run found the same parts (idempotency keys)
    assert "waiting for 3 parts" in [t.reason for t in done.history]


def test_cancelling_a_waiting_job_cancels_its_parts_and_resuming_it_resumes_them(app):
    job = app.send_task("tests.split", [[5, 6]])
    waiting = app.run_claimed_job(job.id, "worker-1")
    app.queue.revoke(job.id, reason="cancelled by its owner")
    assert {part.state for part in app.queue.statuses(waiting.waiting_for)} == {State.REVOKED}
    app.queue.resume(job.id)
    assert {part.state for part in app.queue.statuses(waiting.waiting_for)} == {State.PENDING}
    assert app.run_until_ready(job.id, "worker-1").result == {"total": 22, "runs": 1}


def test_a_failed_part_fails_the_job_with_its_error(app):
    job = app.send_task("tests.split", [[1, 2], 0.0, 1])
    doc = app.run_until_ready(job.id, "worker-1")
    assert doc.state == State.FAILURE and doc.error.message.endswith("failed: part 1 refused")


def test_parts_are_spread_over_worker_processes(s3_store, tmp_path):
    app = make_app(s3_store, tasks=("tests.sample_tasks",), eager=False)
    job = app.send_task("tests.split", [[1, 2, 3, 4, 5, 6], 0.5])
    env = storage_env(s3_store, ERGO_POLL_SECONDS="0.1", ERGO_STATUS_WRITE_INTERVAL="0.05")
    with contextlib.ExitStack() as workers:
        for index in range(3):
            workers.enter_context(ergo_process(["worker", "-I", "tests.sample_tasks"], env, tmp_path / f"worker-{index}.log", stop_within=30))
        wait_for(lambda: job.status_doc.ready, timeout=120, interval=0.2)
    doc = job.status_doc
    assert doc.state == State.SUCCESS and doc.result["total"] == 42
    ran_by = {part.history[1].worker for part in app.queue.statuses(doc.waiting_for)}
    assert len(ran_by) > 1  # the parts really ran side by side
