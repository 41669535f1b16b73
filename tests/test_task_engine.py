"""The Celery-style task engine, in process, on every backend."""

from __future__ import annotations

import json
import threading
import time

import pytest

from ergo_tasks import CorruptStatus, JobNotFound, State, TaskError, TaskFailed, TaskRevoked
from ergo_tasks.ids import InvalidJobId
from ergo_tasks.jobstore import JobStore
from ergo_tasks.queue import OperationRefused
from ergo_tasks.settings import TaskSettings
from ergo_tasks.worker import Worker
from statestore import PreconditionFailed
from tests.helpers import RecordingStore, make_app, wait_for


def states(doc) -> list[str]:
    return [str(step.to_state) for step in doc.history]


def test_eager_job_succeeds_and_leaves_a_complete_status_document(store):
    app = make_app(store)

    @app.task
    def add(x, y):
        return x + y

    result = add.delay(2, 3)
    assert result.get(timeout=5) == 5
    assert result.successful() and result.ready() and not result.failed()
    doc = result.status_doc
    assert doc.state == State.SUCCESS and doc.progress == 100 and doc.attempts == 1
    assert doc.lease is None and doc.request.args == [2, 3]
    assert states(doc) == ["PENDING", "STARTED", "SUCCESS"]
    raw = json.loads(store.get(JobStore.status_key(result.id)).body)
    assert raw["schema_version"] == 1
    assert raw["created_at"].endswith("Z") and raw["history"][0]["at"].endswith("Z")
    assert not store.exists(JobStore.open_prefix + result.id)


def _shape(value):
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


def test_the_same_job_leaves_the_same_shape_on_both_backends(local_store, s3_store):
    shapes = []
    for backend in (local_store, s3_store):
        app = make_app(backend)

        @app.task(name="shape", bind=True)
        def work(self, video_key, quality):
            self.update_state(meta={"progress": 50, "stage": "analysing", "frames_done": 5})
            self.save_checkpoint("checkpoints/x/0001")
            self.set_result_keys(json="results/x/summary.json")
            return {"ok": True}

        job = work.delay("uploads/a.mp4", "low")
        job.get(timeout=10)
        shapes.append((_shape(json.loads(backend.get(JobStore.status_key(job.id)).body)), states(job.status_doc)))
    assert shapes[0] == shapes[1]


def test_progress_meta_checkpoint_and_result_keys_are_recorded(store):
    app = make_app(store)

    @app.task(bind=True)
    def work(self):
        self.update_state(state="PROGRESS", meta={"progress": 10, "stage": "decoding", "frames_done": 1, "frames_total": 10})
        self.update_state(state="PROGRESS", meta={"progress": 90, "stage": "scoring", "frames_done": 9})
        self.save_checkpoint("checkpoints/j/0009")
        self.set_result_keys(csv="results/j/frames.csv")
        return "done"

    doc = work.delay().status_doc
    assert doc.stage == "scoring" and doc.meta == {"frames_done": 9, "frames_total": 10}
    assert doc.checkpoint == "checkpoints/j/0009"
    assert doc.result_keys == {"csv": "results/j/frames.csv"}
    assert "PROGRESS" in states(doc)


def test_annotations_ride_on_the_last_write_and_keep_those_the_document_has(store):
    recording = RecordingStore(store)
    # no heartbeat while it runs (its first would come a second after the claim, between the count and the last write
    # of a task slowed by a loaded machine and emulator): the writes counted are the task's own
    app = make_app(recording, status_write_interval=0.3, lease_seconds=120, heartbeat_seconds=60)
    jobs = app.jobs

    def writes(job_id: str) -> int:
        return sum(1 for name, key, _ in recording.calls if name == "put" and key == JobStore.status_key(job_id))

    @app.task(bind=True)
    def work(self):
        # someone else annotates the job while it runs (a task record saved, say)
        jobs.update(self.request.id, lambda doc: doc.updated(annotations={**doc.annotations, "record": {"station": "A"}}))
        self.annotate(record_files="abc")
        writes_before = writes(self.request.id)
        assert "record_files" not in jobs.read(self.request.id).doc.annotations  # not written by itself...
        self.annotate(checked=True)
        return writes_before

    job = work.delay()
    assert writes(job.id) == job.get(timeout=5) + 1  # ...but with the result, in the one last write
    assert job.status_doc.annotations == {"record": {"station": "A"}, "record_files": "abc", "checked": True}


def test_a_failed_attempt_adds_no_annotation(store):
    app = make_app(store)

    @app.task(bind=True)
    def work(self):
        self.annotate(record_files="abc")
        raise ValueError("broken")

    job = work.delay()
    assert job.status_doc.state == State.FAILURE and "record_files" not in job.status_doc.annotations


def test_progress_details_written_earlier_survive_the_last_write(store):
    app = make_app(store, status_write_interval=0.3, heartbeat_seconds=1.0)

    @app.task(bind=True)
    def work(self):
        self.update_state(meta={"progress": 10, "frames_total": 10})
        self.writer.flush(wait=True)  # this update is written...
        self.update_state(meta={"progress": 90, "frames_done": 9})  # ...this one is still pending at the end
        return "ok"

    doc = work.delay().status_doc
    assert doc.meta == {"frames_total": 10, "frames_done": 9}


def test_update_state_refuses_other_states(store):
    app = make_app(store)

    @app.task(bind=True, max_retries=0)
    def work(self):
        self.update_state(state="SUCCESS")

    doc = work.delay().status_doc
    assert doc.state == State.FAILURE and doc.error.type == "ValueError"


def test_autoretry_with_backoff_then_success(store):
    app = make_app(store)

    @app.task(bind=True, autoretry_for=(ConnectionError,), max_retries=3, retry_backoff=0.01, retry_backoff_max=0.05)
    def flaky(self):
        if self.request.attempts < 3:
            raise ConnectionError("storage hiccup")
        return self.request.attempts

    result = flaky.delay()
    assert result.get(timeout=10) == 3
    assert states(result.status_doc) == ["PENDING", "STARTED", "RETRY", "STARTED", "RETRY", "STARTED", "SUCCESS"]


def test_explicit_retry_with_countdown(store):
    app = make_app(store)

    @app.task(bind=True, max_retries=1)
    def once_more(self):
        if self.request.attempts == 1:
            self.retry(countdown=0.2)
        return "second time"

    started = time.monotonic()
    assert once_more.delay().get(timeout=10) == "second time"
    assert time.monotonic() - started >= 0.2


def test_retries_run_out_into_failure(store):
    app = make_app(store)

    @app.task(autoretry_for=(ConnectionError,), max_retries=1, retry_backoff=0.01)
    def broken():
        raise ConnectionError("still down")

    result = broken.delay()
    with pytest.raises(TaskFailed, match="ConnectionError"):
        result.get(timeout=10)
    doc = result.status_doc
    assert doc.state == State.FAILURE and doc.attempts == 2 and doc.finished_at is not None


def test_task_error_message_is_kept_and_unexpected_errors_reveal_nothing(store):
    app = make_app(store)

    @app.task(max_retries=0)
    def clear():
        raise TaskError("The file is not a readable video.")

    @app.task(max_retries=0)
    def leaky():
        raise ValueError("cannot open /srv/secret/path with password=hunter2")

    assert clear.delay().status_doc.error.message == "The file is not a readable video."
    leaked = leaky.delay()
    error = leaked.status_doc.error
    assert error.type == "ValueError"
    assert "hunter2" not in error.message and "/srv" not in error.message and "Traceback" not in error.message
    assert leaked.id in error.message


def test_unknown_task_fails_clearly(store):
    app = make_app(store)
    result = app.send_task("no.such.task")
    app.run_until_ready(result.id, "w")
    assert result.status_doc.state == State.FAILURE
    assert "No task named 'no.such.task'" in result.status_doc.error.message


def test_arguments_must_be_json(store):
    app = make_app(store)

    @app.task
    def work(x):
        return x

    with pytest.raises(TypeError, match="JSON"):
        work.delay(object())
    assert list(store.list("status/")) == []


def test_time_limit_stops_the_task_at_a_checkpoint(store):
    app = make_app(store)

    @app.task(bind=True, time_limit=0.3, max_retries=0)
    def forever(self):
        while True:
            time.sleep(0.02)
            self.check()

    doc = forever.delay().status_doc
    assert doc.state == State.FAILURE and doc.error.type == "TimeLimitExceeded"


def _run_in_thread(app):
    worker = Worker(app, "worker-thread")
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    return thread


def test_cancel_is_honoured_at_the_next_checkpoint(store):
    app = make_app(store, eager=False)
    seen = []

    @app.task(bind=True)
    def long(self):
        for step in range(500):
            time.sleep(0.02)
            seen.append(step)
            self.update_state(meta={"progress": step / 5})
        return "finished"

    result = long.delay()
    thread = _run_in_thread(app)
    wait_for(lambda: result.state == "PROGRESS")
    result.revoke()
    thread.join(timeout=10)
    assert not thread.is_alive()
    doc = result.status_doc
    assert doc.state == State.REVOKED and len(seen) < 500
    assert doc.history[-1].reason.startswith("cancelled")
    with pytest.raises(TaskRevoked):
        result.get(timeout=1)
    assert not store.exists(JobStore.open_prefix + result.id)


def test_resume_continues_from_the_checkpoint(store):
    app = make_app(store)
    processed, crashes = [], []

    @app.task(bind=True, max_retries=0)
    def chunks(self):
        start = int(self.request.checkpoint) + 1 if self.request.checkpoint else 0
        for chunk in range(start, 5):
            if chunk == 2 and not crashes:
                crashes.append(chunk)
                raise TaskError("decoder crashed")
            processed.append(chunk)
            self.save_checkpoint(str(chunk))
        return processed[-1]

    result = chunks.delay()
    assert result.state == "FAILURE" and result.status_doc.checkpoint == "1"
    resumed = app.queue.resume(result.id).doc
    assert resumed.state == State.PENDING and resumed.attempts == 0 and resumed.error is None
    assert store.exists(JobStore.open_prefix + result.id)
    app.run_until_ready(result.id, "w2")
    assert result.get(timeout=5) == 4
    assert processed == [0, 1, 2, 3, 4]  # chunks 0 and 1 were not done again
    assert "resumed from FAILURE (checkpoint: 1)" in [step.reason for step in result.status_doc.history]


def test_lost_worker_job_is_requeued_then_failed_when_the_budget_is_spent(store):
    app = make_app(store, eager=False, lease_seconds=0.3, heartbeat_seconds=0.1)

    @app.task(max_retries=1)
    def work():
        return "ok"

    result = work.delay()
    assert app.queue.claim("doomed-1").doc.job_id == result.id
    time.sleep(0.4)  # doomed-1 never renews: its lease expires
    second = app.queue.claim("rescuer")
    assert second.doc.job_id == result.id and second.doc.attempts == 2
    assert any("worker doomed-1 lost" in step.reason for step in second.doc.history)
    time.sleep(0.4)  # the second holder is lost too: no attempts left
    assert app.queue.claim("late") is None
    doc = result.status_doc
    assert doc.state == State.FAILURE and doc.error.type == "WorkerLost"
    assert not store.exists(JobStore.open_prefix + result.id)


def test_exactly_one_of_many_racing_claimers_wins(store):
    app = make_app(store, eager=False)

    @app.task
    def work():
        return 1

    result = work.delay()
    winners, barrier = [], threading.Barrier(6)

    def claim(index):
        barrier.wait()
        claimed = app.queue.claim(f"racer-{index}")
        if claimed is not None:
            winners.append(claimed)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert result.status_doc.lease.worker_id == winners[0].doc.lease.worker_id


def test_shutdown_releases_the_job_keeping_its_checkpoint(store):
    app = make_app(store, eager=False, shutdown_grace_seconds=0.0)

    @app.task(bind=True)
    def long(self):
        for step in range(100):
            self.save_checkpoint(str(step))
            time.sleep(0.02)

    result = long.delay()
    worker = Worker(app, "leaving")
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    wait_for(lambda: result.status_doc.checkpoint is not None)
    worker.request_stop()
    thread.join(timeout=10)
    doc = result.status_doc
    assert doc.state == State.PENDING and doc.attempts == 0 and doc.checkpoint is not None
    assert "released by worker leaving" in doc.history[-1].reason
    assert store.exists(JobStore.open_prefix + result.id)


def test_operator_actions_refuse_states_they_do_not_apply_to(store):
    app = make_app(store)

    @app.task
    def work():
        return 1

    result = work.delay()
    before = store.get(JobStore.status_key(result.id))
    with pytest.raises(OperationRefused, match="already finished"):
        app.queue.revoke(result.id)
    with pytest.raises(OperationRefused, match="only failed, cancelled or stalled"):
        app.queue.resume(result.id)
    assert store.get(JobStore.status_key(result.id)) == before


def test_progress_writes_to_one_key_respect_the_throttle(store):
    recording = RecordingStore(store)
    interval = 0.25
    app = make_app(recording, status_write_interval=interval, heartbeat_seconds=0.5)

    @app.task(bind=True)
    def chatty(self):
        for step in range(150):
            self.update_state(meta={"progress": step / 1.5, "step": step})
            time.sleep(0.01)
        return "ok"

    result = chatty.delay()
    key = JobStore.status_key(result.id)
    writes = [at for name, k, at in recording.calls if name == "put" and k == key]
    assert len(writes) >= 4
    gaps = [b - a for a, b in zip(writes, writes[1:])]  # from the very first write: creation, claim, progress, end
    assert min(gaps) >= interval - 0.01, gaps
    assert len(writes) < 150 / 2  # coalesced, not one write per update
    assert result.status_doc.meta["step"] == 149  # the last update is not lost


def test_every_writer_of_a_status_key_keeps_the_interval(local_store):
    """Operators, the engine and the service: nobody writes one status key twice within the interval."""
    recording = RecordingStore(local_store)
    interval = 0.3
    app = make_app(recording, eager=False, status_write_interval=interval)
    job = app.queue.enqueue("t", [], {}, 0)
    app.queue.revoke(job.job_id)  # an operator cancels at once...
    app.queue.resume(job.job_id)  # ...and changes their mind
    claimed = app.queue.claim("w1", job_id=job.job_id)
    app.queue.finish(job.job_id, claimed.doc.lease, State.SUCCESS, reason="done")
    writes = [at for name, key, at in recording.calls if name == "put" and key == JobStore.status_key(job.job_id)]
    assert len(writes) == 5
    assert min(b - a for a, b in zip(writes, writes[1:])) >= interval - 0.01
    assert TaskSettings().status_write_interval == 2.0  # the default keeps R2's one write per second per key with room


def test_claiming_does_not_slow_down_as_finished_jobs_pile_up(local_store):
    def requests_to_claim(finished: int) -> int:
        recording = RecordingStore(local_store)
        app = make_app(recording, eager=False, status_write_interval=0)  # a thousand fillers need no throttle

        @app.task(name="t")
        def work():
            return 1

        for _ in range(finished):
            done = app.queue.enqueue("t", [], {}, 0)
            claimed = app.queue.claim("filler", job_id=done.job_id)
            app.queue.finish(done.job_id, claimed.doc.lease, State.SUCCESS, reason="done")
        target = work.delay()
        recording.calls.clear()
        claimed = app.queue.claim("measured")
        assert claimed.doc.job_id == target.id
        app.queue.finish(target.id, claimed.doc.lease, State.SUCCESS, reason="done")
        return len(recording.calls)

    assert requests_to_claim(1000) == requests_to_claim(0)


# -- bad inputs -------------------------------------------------------------------
def test_unknown_job_id_is_not_found_not_pending(store):
    app = make_app(store)
    with pytest.raises(JobNotFound, match="no job"):
        _ = app.AsyncResult("01ARZ3NDEKTSV4RRFFQ69G5FAV").state


@pytest.mark.parametrize("bad", ["../status/x", "01ARZ3NDEKTSV4RRFFQ69G5FA/", "a b", "", "01arz3ndektsv4rrffq69g5fav"])
def test_malformed_job_ids_are_refused_before_storage_is_touched(store, bad):
    recording = RecordingStore(store)
    app = make_app(recording)
    for action in (lambda: app.AsyncResult(bad).state, lambda: app.queue.revoke(bad), lambda: app.queue.resume(bad)):
        with pytest.raises(InvalidJobId):
            action()
    assert recording.calls == []


def test_malformed_status_json_is_reported_and_left_untouched(store):
    app = make_app(store, eager=False)

    @app.task
    def work():
        return 1

    broken = work.delay()
    healthy = work.delay()
    store.put(JobStore.status_key(broken.id), b'{"schema_version": 1, "job_id": 7')
    with pytest.raises(CorruptStatus, match=f"job {broken.id} is malformed"):
        _ = broken.state
    with pytest.raises(CorruptStatus):
        app.queue.revoke(broken.id)
    assert app.queue.claim("w").doc.job_id == healthy.id  # the queue keeps moving past it
    assert store.get(JobStore.status_key(broken.id)).body == b'{"schema_version": 1, "job_id": 7'


def test_a_stale_etag_write_is_rejected(store):
    app = make_app(store, eager=False)

    @app.task
    def work():
        return 1

    result = work.delay()
    stale = app.jobs.read(result.id)
    app.queue.claim("first")
    with pytest.raises(PreconditionFailed):
        app.jobs.write(stale, stale.doc.moved(State.STARTED, worker="second"))
    assert result.status_doc.lease.worker_id == "first"


def test_middleware_hears_a_worker_boot_before_its_first_job(local_store):
    from ergo_tasks import Middleware

    app = make_app(local_store, eager=False)
    heard = []

    class Boot(Middleware):
        def after_worker_boot(self, app):
            heard.append(("boot", len(list(app.jobs.job_ids()))))

        def before_process(self, app, doc):
            heard.append(("job", doc.job_id))

    app.middleware.add(Boot())
    job = app.task(name="noop")(lambda: None).delay()
    assert Worker(app, "w").run(max_jobs=1) == 1
    assert heard == [("boot", 1), ("job", job.id)]
