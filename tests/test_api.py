"""The RunPod handler API: every action, every error code, hostile input; through RunPod's own local API."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient

from ergo_tasks.analysis import AnalysisSettings, register
from ergo_tasks.analysis.keys import upload_key
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.errors import DispatchError
from ergo_tasks.service.executors import make_dispatcher
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from pipeline.synthetic import make_video
from tests.fakes import RecordingServer, runpod_standin
from tests.helpers import make_app, mp4_lookalike, storage_env

REPO_HANDLER = "deploy/handler.py"


pytestmark = pytest.mark.usefixtures("random_weights")


def service_for(store, webhook_url=None, **settings):
    app = make_app(store, eager=False)
    register(app, AnalysisSettings(webhook_url=webhook_url))
    return build_service(app, ServiceSettings(**{"dispatch_mode": "inline", **settings}))


@pytest.fixture
def runpod_client(s3_store):
    """The handler behind RunPod's own local API server (what `--rp_serve_api` runs)."""
    from runpod.serverless.modules.rp_fastapi import WorkerAPI

    service = service_for(s3_store)
    api = WorkerAPI({"handler": service.handle_event})
    client = TestClient(api.rp_app)

    def call(**payload):
        """The answer as a client of RunPod sees it, checked against the handler's own answer."""
        response = client.post("/runsync", json={"input": payload})
        assert response.status_code == 200
        body = response.json()
        if body["status"] == "FAILED":
            # RunPod's SDK lifts "error" out of a handler's output and fails the job; the message is ours.
            direct = service.handle_event({"input": payload})
            assert direct["status"] == "error" and body["error"] == direct["error"]
            return direct
        assert "output" not in body["output"], "exactly one level of output wrapping"
        return body["output"]

    call.service = service
    return call


def snapshot(store) -> dict:
    return {info.key: info.etag for info in store.list("")}


def put(url: str, data: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_whole_flow_through_the_runpod_api(runpod_client, s3_store, tmp_path):
    video = make_video(tmp_path / "station.mp4", frames=30, width=96, height=64)
    slot = runpod_client(action="generate_upload_url", filename="My Station (1).MP4", size=video.stat().st_size)
    assert slot["status"] == "success" and slot["expires_in"] == 3600 and slot["method"] == "PUT"
    assert slot["video_key"].startswith("uploads/") and slot["video_key"].endswith("/My_Station_1.mp4")
    assert slot["headers"] == {"Content-Type": "video/mp4", "If-None-Match": "*"}
    assert put(slot["upload_url"], video.read_bytes(), slot["headers"]) == 200

    started = runpod_client(action="start_processing", video_key=slot["video_key"], quality="low")
    assert started["status"] == "success" and started["message"] == "Processing started"
    status = runpod_client(action="get_status", job_id=started["job_id"])["job_status"]
    assert status["status"] == "completed" and status["progress"] == 100
    assert status["summary"]["frames_analysed"] == 6 and status["cost"]["gpu_seconds"] > 0
    assert status["model"] == {"name": "keypointrcnn", "weights": "random"}  # what the page's "how it was measured" shows
    # the page's warning line: the model's, then the result's own (a 64 px video holds no worker of 150 px)
    assert status["warning"].startswith("RANDOM WEIGHTS") and "px tall in the analysed frames" in status["warning"]
    assert status["summary"]["warnings"] and status["summary"]["worker_height_px"] < 150
    assert "trunk_flexion" in status["inputs"]["measured"] and status["inputs"]["assumed"]["load_kg"] == 0
    assert status["cost"]["estimated_usd"] == pytest.approx(status["cost"]["gpu_seconds"] * 0.00013, abs=1e-4)
    with urllib.request.urlopen(status["download_url"]) as response:
        assert response.read(2) == b"\x80\x05"  # a protocol-5 pickle
    prefix = f"My_Station_1-{started['job_id'][:8].lower()}"
    for artifact, name in (("pkl", "result.pkl"), ("json", "summary.json"), ("csv", "frames.csv"), ("xlsx", "report.xlsx")):
        url = runpod_client(action="generate_download_url", job_id=started["job_id"], artifact=artifact)["download_url"]
        with urllib.request.urlopen(url) as response:
            body = response.read()
            assert len(body) > 100
            # saved under the video's name, not as the fiftieth report.xlsx in the downloads folder
            assert response.headers["Content-Disposition"] == f'attachment; filename="{prefix}-{name}"'
        if artifact == "json":
            assert json.loads(body)["video"]["name"] == "My_Station_1.mp4"
    listed = runpod_client(action="list_jobs", limit=5)
    assert [job["job_id"] for job in listed["jobs"]] == [started["job_id"]] and listed["next_cursor"] is None
    health = runpod_client(action="health")
    assert health == {"status": "success", "healthy": True, "storage": "localstack", "dispatch": "inline"}


@pytest.mark.parametrize("payload,code", [
    ({"action": "fly_to_the_moon"}, "unknown_action"),
    ({}, "unknown_action"),
    ({"action": "generate_upload_url"}, "invalid_input"),
    ({"action": "generate_upload_url", "filename": "x.mp4"}, "invalid_input"),  # no size
    ({"action": "generate_upload_url", "filename": "x.mp4", "size": 0}, "invalid_input"),
    ({"action": "generate_upload_url", "filename": "x.mp4", "size": 6 * 1024**4}, "file_too_large"),
    ({"action": "generate_upload_url", "filename": "a" * 5000 + ".mp4", "size": 10}, "invalid_input"),
    ({"action": "generate_upload_url", "filename": ["x.mp4"], "size": 10}, "invalid_input"),
    ({"action": "generate_upload_url", "filename": "evil.exe", "size": 10}, "invalid_file_type"),
    ({"action": "generate_upload_url", "filename": "../../etc/passwd", "size": 10}, "invalid_file_type"),
    ({"action": "generate_upload_url", "filename": "x.mp4", "content_type": "text/html", "size": 10}, "invalid_file_type"),
    ({"action": "generate_upload_url", "filename": "x.mp4", "bucket": "other", "size": 10}, "invalid_input"),
    ({"action": "start_processing", "video_key": "status/../../secrets"}, "invalid_input"),
    ({"action": "start_processing", "video_key": "uploads/" + "0" * 32 + "/a.mp4"}, "upload_not_found"),
    ({"action": "start_processing", "video_key": "uploads/" + "0" * 32 + "/a.mp4", "quality": "ultra"}, "invalid_input"),
    ({"action": "start_processing", "video_key": "uploads/" + "0" * 32 + "/a.mp4", "params": {"load_kg": -1}}, "invalid_input"),
    ({"action": "start_processing", "video_key": "uploads/" + "0" * 32 + "/a.mp4", "params": {"coupling": 7}}, "invalid_input"),
    ({"action": "start_processing", "video_key": "uploads/" + "0" * 32 + "/a.mp4", "overlay": "sometimes"}, "invalid_input"),
    ({"action": "get_status", "job_id": "../../status/x"}, "invalid_job_id"),
    ({"action": "get_status", "job_id": 12345}, "invalid_input"),
    ({"action": "get_status", "job_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "job_not_found"),
    ({"action": "generate_download_url", "job_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "artifact": "exe"}, "invalid_input"),
    ({"action": "cancel_job", "job_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "job_not_found"),
    ({"action": "resume_job", "job_id": "not-a-job"}, "invalid_job_id"),
    ({"action": "list_jobs", "limit": 100000}, "invalid_input"),
])
def test_bad_input_gets_its_code_and_changes_nothing(runpod_client, s3_store, payload, code):
    before = snapshot(s3_store)
    answer = runpod_client(**payload)
    assert answer["status"] == "error" and answer["code"] == code
    assert set(answer) == {"status", "error", "code"}
    assert len(answer["error"]) < 300 and "Traceback" not in answer["error"] and "/work" not in answer["error"]
    assert snapshot(s3_store) == before


def test_a_camera_angle_given_through_the_api_is_asked_checked_and_scored_with(runpod_client, s3_store, tmp_path):
    """Issue 23: the camera's pitch and roll are task details like any other: the form asks them in their own group
    (from the one model), the API refuses half an angle, and a job given both is analysed with them."""
    from ergo_tasks.service.actions import service_info
    from pipeline.assessment import FOLLOWING, AssessmentParams

    fields = {field["name"]: field for field in service_info(None)["task_details"]}
    assert set(fields) == set(AssessmentParams.model_fields) - set(FOLLOWING)  # every detail is asked (abduction_threshold was not)
    for name in ("camera_pitch", "camera_roll"):
        field = fields[name]
        assert (field["group"], field["type"], field["default"], field["minimum"], field["maximum"]) == \
            ("How the video was filmed", "number", None, -80, 80), name
    video = make_video(tmp_path / "tilted.mp4", frames=30, width=96, height=64)
    key = _uploaded(s3_store, video.read_bytes(), "tilted.mp4")
    half = runpod_client(action="start_processing", video_key=key, params={"camera_pitch": 20})
    assert half["code"] == "invalid_input" and "go together" in half["error"]
    started = runpod_client(action="start_processing", video_key=key, quality="low", params={"camera_pitch": 20, "camera_roll": -3})
    status = runpod_client(action="get_status", job_id=started["job_id"])["job_status"]
    assert status["status"] == "completed"
    assert (status["inputs"]["assumed"]["camera_pitch"], status["inputs"]["assumed"]["camera_roll"]) == (20, -3)


def test_the_envelope_itself_is_checked(runpod_client):
    service = runpod_client.service
    assert service.handle_event({"input": "generate_upload_url"})["code"] == "invalid_input"
    assert service.handle_event(None)["code"] == "invalid_input"


def _uploaded(store, data: bytes, name: str = "clip.mp4", owner: str | None = None) -> str:
    """A video stored under uploads/, as ``owner``'s upload (made by generate_upload_url for that client)."""
    key = upload_key(name, owner=owner) if owner else f"uploads/{'a' * 32}/{name}"
    store.put(key, data)
    return key


def test_too_large_and_empty_uploads_are_refused(s3_store):
    service = service_for(s3_store, max_upload_bytes=1000)
    key = _uploaded(s3_store, b"x" * 1001)
    answer = service.handle_event({"input": {"action": "start_processing", "video_key": key}})
    assert answer["code"] == "file_too_large" and "limit" in answer["error"]
    empty = _uploaded(s3_store, b"", "empty.mp4")
    assert service.handle_event({"input": {"action": "start_processing", "video_key": empty}})["code"] == "invalid_input"
    assert list(s3_store.list("status/")) == []


def test_a_non_video_is_refused_before_a_job_and_a_broken_one_fails_in_words(runpod_client, s3_store):
    text = _uploaded(s3_store, b"just some text, not a video\n" * 50)  # a text file renamed .mp4
    refused = runpod_client(action="start_processing", video_key=text)
    assert refused["code"] == "invalid_file_type" and '"clip.mp4" is not a video this service can read' in refused["error"]
    assert list(s3_store.list("status/")) == []  # nothing was queued
    broken = _uploaded(s3_store, mp4_lookalike(1500), "broken.mp4")  # begins like an MP4, holds none: the worker finds out
    job_id = runpod_client(action="start_processing", video_key=broken)["job_id"]
    status = runpod_client(action="get_status", job_id=job_id)["job_status"]
    assert status["status"] == "failed" and status["error"].startswith("The file is not a readable video")
    assert not re.search(r"\(\w+Error\)", status["error"]), status["error"]  # words, not an exception's class name
    assert runpod_client(action="generate_download_url", job_id=job_id)["code"] == "not_ready"
    assert runpod_client(action="cancel_job", job_id=job_id)["code"] == "invalid_state"


def test_an_expired_upload_url_is_refused_by_storage(s3_store):
    service = service_for(s3_store)
    service.settings = ServiceSettings.model_construct(**{**service.settings.model_dump(), "upload_url_expiry_s": 1})
    slot = service.handle_event({"input": {"action": "generate_upload_url", "filename": "late.mp4", "size": 5}})
    time.sleep(2.1)
    assert put(slot["upload_url"], b"video", slot["headers"]) == 403
    assert not s3_store.exists(slot["video_key"])


def test_operator_actions_and_status_when_queued(s3_store):
    service = service_for(s3_store, dispatch_mode="worker")
    key = _uploaded(s3_store, mp4_lookalike(2000))
    job_id = service.handle_event({"input": {"action": "start_processing", "video_key": key}})["job_id"]
    status = service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["job_status"]
    assert status["status"] == "queued" and "download_url" not in status
    assert service.handle_event({"input": {"action": "generate_download_url", "job_id": job_id}})["code"] == "not_ready"
    cancelled = service.handle_event({"input": {"action": "cancel_job", "job_id": job_id}})
    assert cancelled["job_status"]["status"] == "cancelled"
    resumed = service.handle_event({"input": {"action": "resume_job", "job_id": job_id}})
    assert resumed["job_status"]["status"] == "queued"
    assert service.handle_event({"input": {"action": "list_jobs", "state": "PENDING"}})["jobs"][0]["job_id"] == job_id


def test_the_handler_runs_from_the_command_line_with_test_input(s3_store):
    env = storage_env(s3_store, ERGO_DISPATCH_MODE="worker")
    healthy = subprocess.run([sys.executable, REPO_HANDLER, "--test_input", json.dumps({"input": {"action": "health"}})],
                             env=env, capture_output=True, text=True, timeout=120)
    output = healthy.stdout + healthy.stderr
    assert healthy.returncode == 0 and "Job result: {'output': {'status': 'success', 'healthy': True" in output
    hostile = {"input": {"action": "get_status", "job_id": "../../etc"}}
    refused = subprocess.run([sys.executable, REPO_HANDLER, "--test_input", json.dumps(hostile)],
                             env=env, capture_output=True, text=True, timeout=120)
    output = refused.stdout + refused.stderr
    # RunPod's SDK lifts "error" to the job and keeps the rest of the envelope (the code) in the output.
    assert "'output': {'status': 'error', 'code': 'invalid_job_id'}" in output
    assert "failed with error: That is not a valid job id" in output and "Traceback" not in output


# -- dispatch to RunPod ------------------------------------------------------------------
def test_runpod_dispatch_sends_an_execute_request(s3_store):
    with runpod_standin() as runpod:
        service = service_for(s3_store, dispatch_mode="runpod", runpod_endpoint_id="ep123", runpod_api_key="rp-test-key",
                              runpod_api_base=f"{runpod.url}/v2")
        key = _uploaded(s3_store, mp4_lookalike(2000))
        job_id = service.handle_event({"input": {"action": "start_processing", "video_key": key}})["job_id"]
        assert len(runpod.requests) == 1
        sent = runpod.requests[0]
        assert sent["path"] == "/v2/ep123/run"
        assert sent["headers"]["Authorization"] == "Bearer rp-test-key"
        assert sent["body"] == {"input": {"action": "execute", "job_id": job_id}}
        status = service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["job_status"]
        assert status["status"] == "queued" and len(runpod.requests) == 1  # not re-dispatched while fresh


def test_a_stalled_or_lost_job_is_redispatched_once_by_status_reads(s3_store):
    with runpod_standin() as runpod:
        service = service_for(s3_store, dispatch_mode="runpod", runpod_endpoint_id="ep", runpod_api_key="k",
                              runpod_api_base=f"{runpod.url}/v2", stall_seconds=0.5)
        key = _uploaded(s3_store, mp4_lookalike(2000))
        job_id = service.handle_event({"input": {"action": "start_processing", "video_key": key}})["job_id"]
        time.sleep(0.6)  # the execute request never started the job
        import threading

        polls = [threading.Thread(target=service.handle_event, args=({"input": {"action": "get_status", "job_id": job_id}},))
                 for _ in range(4)]
        for poll in polls:
            poll.start()
        for poll in polls:
            poll.join()
        assert len(runpod.requests) == 2  # four concurrent polls, one re-dispatch

        service.app.queue.claim("gpu-worker-that-dies", job_id=job_id)
        doc = service.app.jobs.read(job_id)  # the worker dies: make its lease run out
        from datetime import timedelta

        from ergo_tasks.timeutil import utcnow

        expired = doc.doc.updated(lease=doc.doc.lease.model_copy(update={"expires_at": utcnow() - timedelta(seconds=1)}))
        service.app.jobs.write(doc, expired)
        status = service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["job_status"]
        assert status["status"] == "queued" and status["attempts"] == 1
        assert len(runpod.requests) == 3 and runpod.requests[-1]["body"]["input"]["job_id"] == job_id


def test_runpod_refusing_the_dispatch_leaves_the_job_queued(s3_store):
    with RecordingServer(lambda path, body: (500, {"error": "down"})) as broken:
        service = service_for(s3_store, dispatch_mode="runpod", runpod_endpoint_id="ep", runpod_api_key="k",
                              runpod_api_base=f"{broken.url}/v2")
        service.dispatcher.client.retry = service.dispatcher.client.retry.__class__(attempts=2, sleep=lambda s: None)
        key = _uploaded(s3_store, mp4_lookalike(2000))
        answer = service.handle_event({"input": {"action": "start_processing", "video_key": key}})
        assert answer["status"] == "success"
        status = service.handle_event({"input": {"action": "get_status", "job_id": answer["job_id"]}})["job_status"]
        assert status["status"] == "queued" and len(broken.requests) == 2


def test_dispatch_needs_runpod_credentials(local_store):
    with pytest.raises(DispatchError, match="RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY"):
        make_dispatcher(ServiceSettings(dispatch_mode="runpod"), make_app(local_store))


def test_the_webhook_hears_of_completion_and_failure(s3_store, tmp_path):
    with RecordingServer() as hook:
        service = service_for(s3_store, webhook_url=f"{hook.url}/slack")
        video = make_video(tmp_path / "v.mp4", frames=20, width=96, height=64)
        good = _uploaded(s3_store, video.read_bytes(), "good.mp4")
        bad = _uploaded(s3_store, mp4_lookalike(1100), "bad.mp4")
        ok = service.handle_event({"input": {"action": "start_processing", "video_key": good, "quality": "low"}})["job_id"]
        failed = service.handle_event({"input": {"action": "start_processing", "video_key": bad}})["job_id"]
    texts = [request["body"]["text"] for request in hook.requests]
    assert any(ok in text and "completed" in text and "RULA max" in text for text in texts)
    assert any(failed in text and "failed: The file is not a readable video" in text for text in texts)


def test_storage_trouble_and_damaged_documents_have_their_own_codes(s3_store, localstack_endpoint):
    from statestore.s3 import S3Store

    broken = S3Store("no-such-bucket-anywhere", provider="localstack", endpoint_url=localstack_endpoint, region="us-east-1",
                     access_key_id="test", secret_access_key="test")
    answer = service_for(broken).handle_event({"input": {"action": "health"}})
    assert answer["code"] == "storage_error" and "no-such-bucket" not in answer["error"]

    service = service_for(s3_store, dispatch_mode="worker")
    key = _uploaded(s3_store, mp4_lookalike(2000))
    job_id = service.handle_event({"input": {"action": "start_processing", "video_key": key}})["job_id"]
    s3_store.put(f"status/{job_id}.json", b'{"schema_version": 1, "job_id": ')
    damaged = service.handle_event({"input": {"action": "get_status", "job_id": job_id}})
    assert damaged["code"] == "corrupt_status" and job_id in damaged["error"]
    assert s3_store.get(f"status/{job_id}.json").body == b'{"schema_version": 1, "job_id": '


def test_unexpected_errors_carry_a_reference_not_a_traceback(s3_store, monkeypatch):
    service = service_for(s3_store)

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/app/ergo.py line 12")

    monkeypatch.setattr(service.store, "presign_put", explode)
    answer = service.handle_event({"input": {"action": "generate_upload_url", "filename": "a.mp4", "size": 100}})
    assert answer["code"] == "internal_error" and "reference" in answer["error"]
    assert "secret" not in answer["error"] and "/srv" not in answer["error"]


def test_list_jobs_pages_newest_first_and_skips_damaged_documents(s3_store):
    service = service_for(s3_store, dispatch_mode="worker")
    key = _uploaded(s3_store, mp4_lookalike(2000))
    ids = [service.handle_event({"input": {"action": "start_processing", "video_key": key, "idempotency_key": f"listing-{i}"}})["job_id"]
           for i in range(4)]
    s3_store.put(f"status/{ids[1]}.json", b"{broken")
    first = service.handle_event({"input": {"action": "list_jobs", "limit": 2}})
    assert [job["job_id"] for job in first["jobs"]] == [ids[3], ids[2]] and first["next_cursor"] == ids[2]
    second = service.handle_event({"input": {"action": "list_jobs", "limit": 2, "cursor": first["next_cursor"]}})
    assert [job["job_id"] for job in second["jobs"]] == [ids[0]] and second["next_cursor"] is None


def test_a_client_that_starts_again_gets_the_same_job(s3_store):
    service = service_for(s3_store, dispatch_mode="worker")
    key = _uploaded(s3_store, mp4_lookalike(2000))

    def start(**options):
        return service.handle_event({"input": {"action": "start_processing", "video_key": key, **options}})["job_id"]

    first = start(quality="low")
    assert start(quality="low") == first  # a retry after a lost answer: the same job, not a second run
    assert start(quality="high") != first  # other options: another analysis
    assert start(quality="low", idempotency_key="retry-of-upload-1") == start(quality="high", idempotency_key="retry-of-upload-1")
    assert len(list(service.app.jobs.job_ids())) == 3


def test_expired_results_are_said_to_have_expired(s3_store, tmp_path):
    service = service_for(s3_store)
    video = make_video(tmp_path / "v.mp4", frames=20, width=96, height=64)
    key = _uploaded(s3_store, video.read_bytes(), "good.mp4")
    job_id = service.handle_event({"input": {"action": "start_processing", "video_key": key, "quality": "low"}})["job_id"]
    status = service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["job_status"]
    assert status["status"] == "completed" and status["download_url"] and status["results_expired"] is False
    s3_store.delete_prefix(f"results/{job_id}/")  # what the bucket's lifecycle rule does after 30 days
    status = service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["job_status"]
    assert status["results_expired"] is True and status["download_url"] is None
    answer = service.handle_event({"input": {"action": "generate_download_url", "job_id": job_id, "artifact": "csv"}})
    assert answer["code"] == "results_expired" and "expired" in answer["error"]


# -- what the page needs to tell a person where their job stands ------------------------------------------
def test_the_status_says_whether_resuming_can_help(s3_store):
    service = service_for(s3_store)
    failed = service.handle_event({"input": {"action": "start_processing", "video_key": _uploaded(s3_store, mp4_lookalike(600))}})
    status = service.handle_event({"input": {"action": "get_status", "job_id": failed["job_id"]}})["job_status"]
    assert status["status"] == "failed" and status["resumable"] is False  # the same file fails the same way
    queued = service_for(s3_store, dispatch_mode="worker")
    job_id = queued.handle_event({"input": {"action": "start_processing", "video_key": _uploaded(s3_store, mp4_lookalike(2000), "b.mp4")}})["job_id"]
    cancelled = queued.handle_event({"input": {"action": "cancel_job", "job_id": job_id}})["job_status"]
    assert cancelled["status"] == "cancelled" and cancelled["resumable"] is True


def test_owners_cancel_their_own_jobs_and_no_one_elses(s3_store):
    service = service_for(s3_store, dispatch_mode="worker")
    alice, bob = Caller(client="alice", operator=False, internal=False), Caller(client="bob", operator=False, internal=False)
    key = upload_key("clip.mp4", owner="alice")  # made for alice (by generate_upload_url): not bob's to start
    s3_store.put(key, mp4_lookalike(2000))
    assert service.handle("start_processing", {"video_key": key}, bob)["code"] == "upload_not_found"
    job_id = service.handle("start_processing", {"video_key": key}, alice)["job_id"]
    assert service.handle("cancel_job", {"job_id": job_id}, bob)["code"] == "job_not_found"
    assert service.handle("get_status", {"job_id": job_id}, alice)["job_status"]["status"] == "queued"
    assert service.handle("cancel_job", {"job_id": job_id}, alice)["job_status"]["status"] == "cancelled"
    assert service.handle("resume_job", {"job_id": job_id}, alice)["code"] == "forbidden"  # resuming stays an operator's


def test_a_queued_job_knows_its_place_and_a_quiet_one_is_called_stalled(s3_store):
    service = service_for(s3_store, dispatch_mode="worker")
    jobs = [service.handle_event({"input": {"action": "start_processing", "video_key": _uploaded(s3_store, mp4_lookalike(2000), f"{n}.mp4")}})
            ["job_id"] for n in range(3)]
    places = [service.handle_event({"input": {"action": "get_status", "job_id": job}})["job_status"]["queue"] for job in jobs]
    assert [place["position"] for place in places] == [1, 2, 3] and places[2]["estimate_s"] is None  # nothing finished yet
    service.app.queue.claim("gpu-1", job_id=jobs[0])
    service.app.jobs.mark_open(jobs[0], running=True)
    third = service.handle_event({"input": {"action": "get_status", "job_id": jobs[2]}})["job_status"]["queue"]
    assert (third["position"], third["running"]) == (2, 1)
    running = service.handle_event({"input": {"action": "get_status", "job_id": jobs[0]}})["job_status"]
    assert running["stalled"] is False and "queue" not in running
    service.app.settings.heartbeat_seconds = 0.1  # three heartbeats missed
    time.sleep(0.4)
    assert service.handle_event({"input": {"action": "get_status", "job_id": jobs[0]}})["job_status"]["stalled"] is True


def test_a_jobs_progress_never_goes_back(s3_store, tmp_path):
    from ergo_tasks.middleware import Middleware

    class Seen(Middleware):
        def __init__(self):
            self.values = []

        def on_progress(self, app, job_id, progress, stage):
            if progress is not None:
                self.values.append(progress)

    service = service_for(s3_store)
    seen = Seen()
    service.app.middleware.add(seen)
    key = upload_key("clip.mp4")
    s3_store.upload_file(key, make_video(tmp_path / "clip.mp4", frames=30, width=96, height=64))
    job_id = service.handle_event({"input": {"action": "start_processing", "video_key": key, "quality": "low"}})["job_id"]
    assert service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["job_status"]["status"] == "completed"
    assert len(seen.values) > 4 and seen.values == sorted(seen.values) and seen.values[-1] >= 97


def _split_in_parts(service, job_id: str, count: int) -> list[str]:
    """What the analysis does with a long video: its worker starts it, queues its parts and gives it back to wait for them."""
    from ergo_tasks.analysis import ANALYZE_TASK
    from ergo_tasks.states import State

    queue = service.app.queue
    claimed = queue.claim("gpu-0", job_id=job_id)
    parts = [queue.enqueue(ANALYZE_TASK, [], {"part": n}, 2, parent=job_id).job_id for n in range(count)]
    queue.finish(job_id, claimed.doc.lease, State.PENDING, reason=f"waiting for {count} parts", waiting_for=parts, attempts=0)
    service.app.jobs.mark_open(job_id)
    return parts


def test_the_queue_counts_jobs_not_their_parts_and_estimates_from_the_running_ones(s3_store):
    service = service_for(s3_store, dispatch_mode="worker")

    def start(name):
        return service.handle_event({"input": {"action": "start_processing", "video_key": _uploaded(s3_store, mp4_lookalike(2000), name)}})

    long_one = start("long.mp4")["job_id"]
    parts = _split_in_parts(service, long_one, 3)
    service.app.queue.claim("gpu-1", job_id=parts[0])
    service.app.jobs.mark_open(parts[0], running=True)
    service.app.jobs.update(parts[0], lambda doc: doc.updated(meta={**doc.meta, "eta_s": 40}))  # what a running part says
    mine = start("mine.mp4")["job_id"]
    place = service.handle_event({"input": {"action": "get_status", "job_id": mine}})["job_status"]["queue"]
    # one job ahead, and it is running (in parts, one of them taken): next in line, not 4th; no job finished yet,
    # so the wait comes from what the running part says it has left
    assert (place["position"], place["running"]) == (1, 1), place
    assert place["estimate_s"] == 40, place


def test_the_operator_list_counts_a_job_analysed_in_parts_with_its_parts(s3_store):
    from ergo_tasks.timeutil import isoformat

    service = service_for(s3_store, dispatch_mode="worker")
    alice = Caller(client="alice-token-hash", operator=False, internal=False)
    job_id = service.handle("start_processing", {"video_key": _uploaded(s3_store, mp4_lookalike(2000), "long.mp4", alice.client)},
                            alice)["job_id"]
    queued = service.handle_event({"input": {"action": "list_jobs"}})["jobs"][0]
    assert (queued["work_started_at"], queued["work_seconds"], queued["attempts"]) == (None, None, 0)  # not started yet
    parts = _split_in_parts(service, job_id, 2)
    for n, part in enumerate(parts):
        service.app.queue.claim(f"gpu-{n + 1}", job_id=part)
    time.sleep(1.2)  # the parts work; the job itself only waits for them
    row = service.handle_event({"input": {"action": "list_jobs"}})["jobs"][-1]
    doc = service.app.jobs.read(job_id).doc
    assert row["job_id"] == job_id and row["owner"] == "alice-token-hash"
    assert row["work_started_at"] == isoformat(doc.started_at)  # when work started, not when the job was sent
    # its own run time alone says nothing: the work counts the wait for the parts besides (however long the job's own
    # run took on a loaded machine and emulator, the wait comes on top of it)
    assert row["work_seconds"] >= 1.0 and row["work_seconds"] - row["run_seconds"] >= 1.0
    assert row["attempts"] == 1 and doc.attempts == 0  # the job gave its attempt back while it waits; its parts hold theirs
    service.handle_event({"input": {"action": "cancel_job", "job_id": job_id}})
    service.handle_event({"input": {"action": "resume_job", "job_id": job_id}})
    row = next(job for job in service.handle_event({"input": {"action": "list_jobs"}})["jobs"] if job["job_id"] == job_id)
    assert row["resumes"] == 1


def test_the_status_says_whether_the_caller_may_resume_and_the_form_asks_each_thing_once(s3_store):
    from ergo_tasks.service.actions import service_info
    from pipeline.assessment import AssessmentParams

    service = service_for(s3_store, dispatch_mode="worker")
    alice = Caller(client="alice", operator=False, internal=False)
    job_id = service.handle("start_processing", {"video_key": _uploaded(s3_store, mp4_lookalike(2000), owner=alice.client)}, alice)["job_id"]
    assert service.handle("get_status", {"job_id": job_id}, alice)["caller"] == {"operator": False}
    assert service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["caller"] == {"operator": True}
    fields = service_info(None)["task_details"]
    groups = list(dict.fromkeys(field["group"] for field in fields))
    assert groups[:4] == ["Posture the video cannot show", "Load and force", "Activity", "Coupling"]
    names = [field["name"] for field in fields]
    assert "rula_force_load" not in names and "muscle_use" not in names and "load_kg" in names  # asked once
    # what RULA's force and muscle use ask follows from the load, shock and activity (the worksheet's rule)
    force = [AssessmentParams(**details).rula_force() for details in
             ({}, {"load_kg": 1.9}, {"load_kg": 5}, {"load_kg": 5, "repeated_actions": True}, {"load_kg": 12},
              {"load_kg": 12, "static_posture": True}, {"load_kg": 1, "shock": True}, {"load_kg": 50, "rula_force_load": 1})]
    assert force == [0, 0, 1, 2, 2, 3, 3, 1]
    assert AssessmentParams(static_posture=True).rula_muscle_use() and not AssessmentParams().rula_muscle_use()
