"""A long video analysed in parts, side by side: the same result however many workers ran it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ergo_tasks import State
from ergo_tasks.analysis import ANALYZE_TASK, AnalysisSettings, register
from ergo_tasks.analysis.keys import upload_key
from pipeline.analysis import parts
from pipeline.synthetic import make_video
from tests.helpers import ergo_process, make_app, storage_env, wait_for

# 60 frames at 10 fps, 2 sampled per second at `low`: 12 frames in 6 chunks of 2, 3 parts of 2 chunks
RANDOM = {"quality": "low", "model": "keypointrcnn", "weights": "random", "chunk_size": 2}
PART_CHUNKS = 2


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("clip") / "long-shift.mp4", frames=60, width=96, height=64, fps=10)


def analysis_app(store, part_chunks: int = PART_CHUNKS):
    app = make_app(store, eager=False)
    register(app, AnalysisSettings(part_chunks=part_chunks))
    return app


def submit(app, clip, **kwargs):
    key = upload_key(clip.name)
    app.store.upload_file(key, clip)
    return app.send_task(ANALYZE_TASK, kwargs={"video_key": key, **RANDOM, **kwargs})


def arrays(store, doc) -> dict:
    """What the result file holds, for comparing two runs bit for bit (the creation time and job id aside)."""
    result = pickle.loads(store.get(doc.result_keys["pkl"]).body)
    return {key: value for key, value in result.items() if key not in ("created_at", "job_id")}


def assert_identical(one: dict, other: dict) -> None:
    assert one.keys() == other.keys()
    for key in one:
        if isinstance(one[key], np.ndarray):
            assert np.array_equal(one[key], other[key], equal_nan=True), key
        elif isinstance(one[key], dict) and any(isinstance(v, np.ndarray) for v in one[key].values()):
            assert_identical(one[key], other[key])
        else:
            assert one[key] == other[key], key


def test_parts_depend_on_the_video_only():
    assert parts(6, 2) == [range(0, 2), range(2, 4), range(4, 6)]
    assert parts(7, 3) == [range(0, 3), range(3, 6), range(6, 7)]
    assert parts(5, 0) == [range(0, 5)] and parts(2, 4) == [range(0, 2)]


@pytest.mark.slow  # the whole long video twice, once in parts
def test_a_long_video_is_analysed_in_parts_and_gives_the_result_of_one_run(local_store, clip):
    app = analysis_app(local_store)
    whole = app.run_until_ready(submit(app, clip, split=False).id, "worker-1")
    job = submit(app, clip)
    first = app.run_claimed_job(job.id, "worker-1")  # hands out the parts and waits for them
    assert first.state == State.PENDING and len(first.waiting_for) == 3 and first.stage == "analysing poses in 3 parts"
    pieces = app.queue.statuses(first.waiting_for)
    assert [piece.request.kwargs["part"] for piece in pieces] == [[0, 2], [2, 4], [4, 6]]
    assert {piece.parent for piece in pieces} == {job.id}
    done = app.run_until_ready(job.id, "worker-2")  # runs the parts here, then the job again
    assert done.state == State.SUCCESS, done.error
    assert [piece.result["frames"] for piece in app.queue.statuses(done.waiting_for)] == [4, 4, 4]
    assert_identical(arrays(local_store, done), arrays(local_store, whole))
    assert done.result["summary"] == whole.result["summary"] and whole.result["summary"]["frames_with_person"] > 0
    assert list(local_store.list(f"checkpoints/{job.id}/")) == []  # cleaned up once the job succeeded


def test_a_part_that_fails_fails_the_job_with_its_words(local_store, clip, monkeypatch):
    from pipeline import analysis

    original = analysis.analyze_chunks

    def second_part_fails(*args, only=None, **kwargs):
        if only == range(2, 4):
            raise analysis.UnreadableVideo("The file is not a readable video (test).")
        return original(*args, only=only, **kwargs)

    monkeypatch.setattr(analysis, "analyze_chunks", second_part_fails)
    app = analysis_app(local_store)
    job = submit(app, clip)
    doc = app.run_until_ready(job.id, "worker-1")
    assert doc.state == State.FAILURE
    assert doc.error.expected and doc.error.message.endswith("failed: The file is not a readable video (test).")
    assert doc.error.message.startswith("Part ")


def test_one_worker_and_three_workers_give_the_same_result(s3_store, clip, tmp_path):
    app = analysis_app(s3_store)
    one = app.run_until_ready(submit(app, clip).id, "only-worker")
    assert one.state == State.SUCCESS, one.error
    job = submit(app, clip)
    env = storage_env(s3_store, ERGO_POLL_SECONDS="0.1", ERGO_STATUS_WRITE_INTERVAL="0.05", ERGO_PART_CHUNKS=str(PART_CHUNKS))
    with ergo_process(["worker", "--concurrency", "3"], env, tmp_path / "workers.log"):
        wait_for(lambda: job.status_doc.ready, timeout=240, interval=0.5)
    three = job.status_doc
    assert three.state == State.SUCCESS, three.error
    assert len({piece.history[1].worker for piece in app.queue.statuses(three.waiting_for)}) > 1  # spread over workers
    assert_identical(arrays(s3_store, three), arrays(s3_store, one))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """33 s: 66 frames sampled at `low`, in three chunks of the service's 32 (parts of one chunk here), the last of
    two frames: the fewest that make three parts, since the stand-in model's frames are most of these tests' time."""
    return make_video(tmp_path_factory.mktemp("clip") / "whole-shift.mp4", frames=330, width=96, height=64, fps=10)


@pytest.fixture
def on_runpod(local_store, long_clip, random_weights):
    """A service dispatching to a RunPod stand-in, and a long video started on it: (service, stand-in, job id)."""
    from ergo_tasks.service.actions import build_service
    from ergo_tasks.service.settings import ServiceSettings
    from tests.fakes import runpod_standin

    with runpod_standin() as runpod:
        service = build_service(analysis_app(local_store, part_chunks=1),
                                ServiceSettings(dispatch_mode="runpod", runpod_endpoint_id="ep", runpod_api_key="k",
                                                runpod_api_base=f"{runpod.url}/v2"))
        key = upload_key(long_clip.name)
        local_store.upload_file(key, long_clip)
        yield service, runpod, call(service, "start_processing", video_key=key, quality="low")["job_id"]


def call(service, action: str, **fields) -> dict:
    return service.handle_event({"input": {"action": action, **fields}})


def test_on_runpod_status_reads_dispatch_the_parts_and_cancel_reaches_them(on_runpod):
    service, runpod, job_id = on_runpod
    assert len(runpod.requests) == 1
    # what the execute request does first: hand out the parts and wait (RunPod's worker is then free)
    service.app.run_claimed_job(job_id, "gpu-1")
    status = call(service, "get_status", job_id=job_id)["job_status"]
    executed = [request["body"]["input"]["job_id"] for request in runpod.requests if request["path"].endswith("/run")]
    parts_ids = service.app.jobs.read(job_id).doc.waiting_for
    assert executed == [job_id, *parts_ids]  # each part went to a GPU of its own; the job waits
    assert len(parts_ids) == 3
    assert status["status"] == "processing" and status["parts"] == {"total": 3, "done": 0, "running": 0}
    assert status["stage"].startswith(f"analysing poses in {len(parts_ids)} parts")
    call(service, "get_status", job_id=job_id)
    assert len(runpod.requests) == 1 + len(parts_ids)  # not dispatched twice
    listed = call(service, "list_jobs")["jobs"]
    assert [job["job_id"] for job in listed] == [job_id]  # parts are not jobs of their own to the user
    cancelled = call(service, "cancel_job", job_id=job_id)
    assert cancelled["message"].endswith("Its runpod requests were withdrawn.")
    withdrawn = [request["path"].rsplit("/", 1)[-1] for request in runpod.requests if "/cancel/" in request["path"]]
    assert len(withdrawn) == 1 + len(parts_ids)
    assert {part.state for part in service.app.queue.statuses(parts_ids)} == {State.REVOKED}


@pytest.mark.slow  # a whole job of three parts through the stand-in pose model: a minute and more on 2 cores
def test_one_runpod_request_can_run_a_job_and_all_its_parts(on_runpod):
    service, _, job_id = on_runpod
    done = call(service, "execute", job_id=job_id)["job_status"]
    assert done["status"] == "completed" and done["summary"]["frames_analysed"] == 66
    assert done["parts"] == {"total": 3, "done": 3, "running": 0}
