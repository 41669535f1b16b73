"""Storage faults on both S3 emulators (LocalStack, moto): what botocore calls transient is retried, and a conditional
write whose answer was lost is neither reported as a clash nor applied twice."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from ergo_tasks import State
from ergo_tasks.jobstore import JobStore
from statestore import PreconditionFailed, StorageUnavailable
from statestore.retry import Backoff, RetryPolicy
from statestore.s3 import is_transient
from tests.helpers import make_app

ENDPOINT = "http://127.0.0.1:1"


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


@pytest.mark.parametrize("error", [
    ConnectionClosedError(endpoint_url=ENDPOINT),  # a reset: the class that was never retried
    EndpointConnectionError(endpoint_url=ENDPOINT),
    ConnectTimeoutError(endpoint_url=ENDPOINT),
    ReadTimeoutError(endpoint_url=ENDPOINT),
    IncompleteReadError(actual_bytes=10, expected_bytes=20),
    ResponseStreamingError(error="connection broken"),
    _client_error("InternalError", 500), _client_error("BadGateway", 502), _client_error("ServiceUnavailable", 503),
    _client_error("GatewayTimeout", 504), _client_error("SlowDown", 503), _client_error("TooManyRequests", 429),
    _client_error("RequestTimeout", 400),
], ids=lambda error: type(error).__name__ if not isinstance(error, ClientError) else error.response["Error"]["Code"])
def test_every_transient_failure_is_retried(error):
    assert is_transient(error)


@pytest.mark.parametrize("code,status", [("PreconditionFailed", 412), ("ConditionalRequestConflict", 409), ("NoSuchKey", 404),
                                         ("AccessDenied", 403), ("NoSuchBucket", 404), ("InvalidArgument", 400)])
def test_answers_that_a_retry_cannot_change_are_not_retried(code, status):
    assert not is_transient(_client_error(code, status))


class Fault:
    """Breaks the connection of the next ``times`` S3 calls of ``operation`` on keys under ``prefix``,
    before the request is sent or after the server applied it."""

    def __init__(self, store, operation: str, *, after: bool, times: int = 1, prefix: str = ""):
        self.left, self.after, self.path = times, after, f"/{prefix}"
        store.client.meta.events.register(f"before-call.s3.{operation}", self._before)
        store.client.meta.events.register(f"after-call.s3.{operation}", self._after)

    def _before(self, params, context, **_kwargs):
        if self.left > 0 and params["url_path"].startswith(self.path):
            self.left -= 1
            if not self.after:
                raise ConnectionClosedError(endpoint_url=ENDPOINT)
            context["break_answer"] = True

    def _after(self, context, **_kwargs):
        if context.pop("break_answer", False):
            raise ConnectionClosedError(endpoint_url=ENDPOINT)


@pytest.fixture
def store(emulated_store):
    emulated_store.retry = RetryPolicy(attempts=4, backoff=Backoff(base=0.01, cap=0.05))
    return emulated_store


def test_a_reset_before_the_server_applied_the_write_is_retried(store):
    fault = Fault(store, "PutObject", after=False)
    store.put("probe/a", b"one")
    assert fault.left == 0 and store.get("probe/a").body == b"one"


class _Answer:
    """What botocore reads of an HTTP answer that a ``before-call`` handler supplies."""

    def __init__(self, status_code: int):
        self.status_code, self.headers, self.content = status_code, {}, b""


def test_an_upload_from_a_file_answered_500_is_retried(store, tmp_path):
    # boto3's upload_file wraps a ClientError in S3UploadFailedError, which no retry rule recognises: this
    # failed a real analysis's result upload once.  Uploads from a file go through upload_fileobj.
    answers = [500]

    def fail_once(**_kwargs):
        if answers:
            status = answers.pop()
            return _Answer(status), {"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return None

    store.client.meta.events.register("before-call.s3.PutObject", fail_once)
    source = tmp_path / "result.pkl"
    source.write_bytes(b"scores" * 100)
    etag = store.upload_file("results/job/result.pkl", source)
    assert answers == [] and store.get("results/job/result.pkl").body == source.read_bytes()
    assert store.head("results/job/result.pkl").etag == etag


def test_a_created_job_whose_answer_was_lost_is_created_once(store):
    app = make_app(store, eager=False)
    fault = Fault(store, "PutObject", after=True)  # the status document lands; its answer does not
    doc = app.queue.enqueue("t", [], {}, max_retries=0)
    assert fault.left == 0
    assert app.jobs.read(doc.job_id).doc.write_token == doc.write_token
    assert app.jobs.open_job_ids() == [doc.job_id] and list(app.jobs.job_ids()) == [doc.job_id]


def test_a_claim_whose_answer_was_lost_still_holds_the_lease_once(store):
    app = make_app(store, eager=False)
    doc = app.queue.enqueue("t", [], {}, max_retries=0)
    fault = Fault(store, "PutObject", after=True)
    claimed = app.queue.claim("w1", job_id=doc.job_id)
    assert fault.left == 0
    assert claimed is not None and claimed.doc.state == State.STARTED and claimed.doc.lease.worker_id == "w1"
    stored = app.jobs.read(doc.job_id).doc
    assert stored.attempts == 1 and [step.to_state for step in stored.history] == [State.PENDING, State.STARTED]


def test_a_write_lost_to_another_writer_is_still_a_lost_race(store):
    app = make_app(store, eager=False)
    doc = app.queue.enqueue("t", [], {}, max_retries=0)
    seen = app.jobs.read(doc.job_id)
    app.jobs.write(seen, seen.doc.updated(stage="someone else"))
    Fault(store, "PutObject", after=True)  # our own attempt never lands: the retry meets the other writer's version
    with pytest.raises(PreconditionFailed):
        app.jobs.write(seen, seen.doc.updated(stage="mine"))
    assert app.jobs.read(doc.job_id).doc.stage == "someone else"


def test_status_keys_belong_to_the_job_store():
    assert JobStore.status_key("01ARZ3NDEKTSV4RRFFQ69G5FAV") == "status/01ARZ3NDEKTSV4RRFFQ69G5FAV.json"


def test_a_retried_enqueue_with_its_key_gets_the_one_job(store):
    app = make_app(store, eager=False)
    first = app.queue.enqueue("t", [1], {}, max_retries=0, idempotency_key="client-7:upload-3")
    again = app.queue.enqueue("t", [1], {}, max_retries=0, idempotency_key="client-7:upload-3")
    other = app.queue.enqueue("t", [1], {}, max_retries=0, idempotency_key="client-7:upload-4")
    assert again.job_id == first.job_id != other.job_id
    assert sorted(app.jobs.job_ids()) == sorted({first.job_id, other.job_id}) == sorted(app.jobs.open_job_ids())


def test_an_enqueue_that_failed_halfway_is_finished_by_the_retry_not_doubled(store):
    app = make_app(store, eager=False)
    Fault(store, "PutObject", after=False, times=4, prefix="status/")  # every try of the document's write fails
    with pytest.raises(Exception, match="kept failing|could not be reached"):
        app.queue.enqueue("t", [], {}, max_retries=0, idempotency_key="k-123456")
    assert list(app.jobs.job_ids()) == []  # no job exists...
    job = app.queue.enqueue("t", [], {}, max_retries=0, idempotency_key="k-123456")  # ...until the client retries
    assert list(app.jobs.job_ids()) == [job.job_id] and app.jobs.open_job_ids() == [job.job_id]
    assert app.queue.claim("w1") is not None  # and a worker takes it


def test_a_marker_waits_for_its_document_then_is_dropped(store):
    app = make_app(store, eager=False)
    app.jobs.mark_open("01ARZ3NDEKTSV4RRFFQ69G5FAV")  # an old job id whose creation failed long ago
    young = app.queue.enqueue("t", [], {}, max_retries=0)
    store.delete(JobStore.status_key(young.job_id))  # as if its document were still on its way
    assert app.queue.claim("w1") is None
    assert app.jobs.open_job_ids() == [young.job_id]  # the young marker stays, the stale one is gone


class Unavailable:
    """A store whose writes to status/ (or downloads) fail as if the bucket were down, a given number of times."""

    def __init__(self, inner):
        self.inner, self.failing_status_puts, self.failing_downloads = inner, 0, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def put(self, key, body, **kwargs):
        if key.startswith("status/") and self.failing_status_puts > 0:
            self.failing_status_puts -= 1
            raise StorageUnavailable("status write failed (test)")
        return self.inner.put(key, body, **kwargs)

    def download_file(self, key, path):
        if self.failing_downloads > 0:
            self.failing_downloads -= 1
            raise StorageUnavailable("download failed (test)")
        return self.inner.download_file(key, path)


def test_a_finished_run_whose_last_write_fails_is_recorded_not_run_again(local_store, monkeypatch):
    import ergo_tasks.execution as execution

    monkeypatch.setattr(execution, "FINAL_WRITE_BACKOFF", Backoff(base=0.01, cap=0.02))
    store = Unavailable(local_store)
    app = make_app(store)
    runs = []

    @app.task
    def work():
        runs.append(1)
        store.failing_status_puts = 3  # the bucket goes away just as the task returns
        return "done"

    job = work.delay()
    assert job.get(timeout=10) == "done" and len(runs) == 1
    assert job.status_doc.attempts == 1 and job.status_doc.lease is None


def test_an_analysis_that_cannot_reach_storage_retries_from_its_checkpoint(local_store, tmp_path, random_weights):
    from ergo_tasks.analysis import ANALYZE_TASK, register
    from ergo_tasks.analysis.keys import upload_key
    from pipeline.synthetic import make_video

    store = Unavailable(local_store)
    app = make_app(store)
    register(app)
    app.tasks[ANALYZE_TASK].backoff = Backoff(base=0.01, cap=0.02, jitter=False)
    key = upload_key("clip.mp4")
    store.upload_file(key, make_video(tmp_path / "clip.mp4", frames=20, width=96, height=64))
    store.failing_downloads = 1  # the first attempt cannot fetch the video
    job = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, "quality": "low"})
    doc = job.status_doc
    assert doc.state == State.SUCCESS and doc.attempts == 2
    assert [step.to_state for step in doc.history].count(State.RETRY) == 1


def test_a_damaged_checkpoint_is_computed_again_not_fatal(local_store):
    import json

    import numpy as np

    from ergo_tasks.analysis.task import StorageCheckpoints
    from pipeline.analysis import ChunkResult

    job_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    local_store.put(f"checkpoints/{job_id}/manifest.json", json.dumps({"fingerprint": "f1"}).encode())
    good = ChunkResult(0, np.arange(3), None, "frames 0-2 could not be decoded (test)")
    local_store.put(f"checkpoints/{job_id}/chunk-000000.npz", good.to_bytes())
    local_store.put(f"checkpoints/{job_id}/chunk-000001.npz", b"PK\x03\x04 broken off")  # written halfway, say
    local_store.put(f"checkpoints/{job_id}/chunk-000002.npz", b"")
    chunks = StorageCheckpoints(local_store, job_id).load("f1")
    assert list(chunks) == [0] and chunks[0].error == good.error  # the damaged ones are simply computed again
