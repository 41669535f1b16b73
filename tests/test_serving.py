"""Serving in production: status answered from storage while every GPU is busy, a dispatch that is bounded,
recorded and retried, cancel and progress that reach RunPod, and the gateway's guards."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from fastapi.testclient import TestClient

from ergo_tasks.analysis import TASK_MODULES
from ergo_tasks.analysis.keys import upload_key
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.http import check_exposure, create_gateway
from ergo_tasks.service.progress import ProgressRelay
from ergo_tasks.service.settings import GatewaySettings, ServiceSettings
from tests.fakes import runpod_standin
from tests.helpers import make_app, mp4_lookalike, serve, storage_env

POLLERS, POLLS_EACH = 50, 8


def runpod_service(store, runpod, **settings):
    app = make_app(store, eager=False, tasks=(*TASK_MODULES, "tests.sample_tasks"))
    return build_service(app, ServiceSettings(dispatch_mode="runpod", runpod_endpoint_id="ep", runpod_api_key="rp-key",
                                              runpod_api_base=f"{runpod.url}/v2", **settings))


def uploaded(store, name: str = "clip.mp4") -> str:
    key = upload_key(name)
    store.put(key, mp4_lookalike(2000), content_type="video/mp4")
    return key


def action(service, name: str, **params) -> dict:
    return service.handle_event({"input": {"action": name, **params}})


def post(url: str, name: str, body: dict) -> dict:
    request = urllib.request.Request(f"{url}/api/{name}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


# -- the production shape -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.alone  # its latencies are the server's, not those of a CPU shared with other tests
def test_status_reads_stay_fast_while_every_gpu_worker_is_busy(s3_store, tmp_path):
    with runpod_standin() as runpod:
        process, url = serve(s3_store, tmp_path, ERGO_SERVE_BACKEND="runpod", RUNPOD_ENDPOINT_ID="ep", RUNPOD_API_KEY="rp-key",
                             RUNPOD_API_BASE=f"{runpod.url}/v2", ERGO_RATE_LIMIT_PER_MINUTE="100000", ERGO_RATE_LIMIT_BURST="10000")
        try:
            jobs = [post(url, "start_processing", {"video_key": uploaded(s3_store, f"clip{n}.mp4")})["job_id"] for n in range(3)]
            gpus = make_app(s3_store, eager=False, lease_seconds=600)  # the endpoint's 3 workers hold the 3 jobs throughout
            for job_id in jobs:
                assert gpus.queue.claim(f"gpu-{job_id[-4:]}", job_id=job_id) is not None
            latencies, errors = [], []

            def poll(index: int) -> None:
                for _ in range(POLLS_EACH):
                    started = time.perf_counter()
                    try:
                        status = post(url, "get_status", {"job_id": jobs[index % 3]})["job_status"]["status"]
                        assert status == "processing", status
                    except Exception as error:  # noqa: BLE001 - reported below
                        errors.append(repr(error))
                    latencies.append(time.perf_counter() - started)

            pollers = [threading.Thread(target=poll, args=(index,)) for index in range(POLLERS)]
            for poller in pollers:
                poller.start()
            for poller in pollers:
                poller.join()
        finally:
            process.terminate()
            process.wait(timeout=30)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"\n{POLLERS} pollers x {POLLS_EACH} get_status through ergo serve --backend runpod on LocalStack: "
          f"median {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    assert errors == [] and len(latencies) == POLLERS * POLLS_EACH
    assert cuts[94] < 0.300
    # the GPU endpoint heard of the three jobs and of nothing else
    assert [(r["path"], r["body"]["input"]["action"]) for r in runpod.requests] == [("/v2/ep/run", "execute")] * 3
    assert sorted(r["body"]["input"]["job_id"] for r in runpod.requests) == sorted(jobs)


def test_serve_with_the_runpod_backend_needs_a_bucket_the_workers_can_reach(local_store, tmp_path):
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "serve", "--backend", "runpod"],
                            env=storage_env(local_store, RUNPOD_ENDPOINT_ID="ep", RUNPOD_API_KEY="k"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "STORAGE_PROVIDER=r2 or s3" in result.stderr and "Traceback" not in result.stderr


# -- dispatch ----------------------------------------------------------------------------------------
def test_a_slow_runpod_costs_start_processing_only_the_deadline_and_the_job_is_dispatched_later(s3_store):
    with runpod_standin(run_delay_s=4.0) as runpod:
        service = runpod_service(s3_store, runpod, dispatch_timeout_s=1.0, dispatch_retry_s=60)
        started = time.monotonic()
        answer = action(service, "start_processing", video_key=uploaded(s3_store))
        took = time.monotonic() - started
        assert answer["status"] == "success" and took < 2.5, took
        assert answer["dispatched"] is False and answer["message"].startswith("Queued, not yet started: RunPod did not answer (no answer within 1 s)")
        status = action(service, "get_status", job_id=answer["job_id"])["job_status"]
        assert status["status"] == "queued" and "did not answer" in status["dispatch"]["error"]
        assert status["dispatch"]["count"] == 1  # within dispatch_retry_s: not tried again

        runpod.run_delay_s, service.settings.dispatch_retry_s = 0.0, 0.0  # RunPod is back
        status = action(service, "get_status", job_id=answer["job_id"])["job_status"]
        assert status["dispatch"]["count"] == 2 and "error" not in status["dispatch"]
        assert status["dispatch"]["request_id"] == f"job-{len(runpod.pending)}"
        again = action(service, "get_status", job_id=answer["job_id"])["job_status"]
        assert again["dispatch"]["count"] == 2  # dispatched, and fresh: left alone


def test_the_runpod_request_id_is_kept_and_cancel_withdraws_it(s3_store):
    with runpod_standin() as runpod:
        service = runpod_service(s3_store, runpod)
        answer = action(service, "start_processing", video_key=uploaded(s3_store))
        assert answer["dispatched"] is True and answer["message"] == "Processing started"
        assert service.app.jobs.read(answer["job_id"]).doc.annotations["dispatch"]["request_id"] == "job-1"
        cancelled = action(service, "cancel_job", job_id=answer["job_id"])
        assert cancelled["job_status"]["status"] == "cancelled" and "runpod request was withdrawn" in cancelled["message"]
        assert runpod.requests[-1]["path"] == "/v2/ep/cancel/job-1"
        assert runpod.requests[-1]["headers"]["Authorization"] == "Bearer rp-key"


def test_a_cancel_that_runpod_does_not_hear_still_cancels_the_job(s3_store):
    with runpod_standin() as runpod:
        service = runpod_service(s3_store, runpod)
        job_id = action(service, "start_processing", video_key=uploaded(s3_store))["job_id"]
        runpod.respond = lambda path, body: (503, {"error": "down"})
        cancelled = action(service, "cancel_job", job_id=job_id)
        assert cancelled["job_status"]["status"] == "cancelled" and "could not be withdrawn" in cancelled["message"]


# -- progress to RunPod ------------------------------------------------------------------------------
def test_execute_relays_the_jobs_progress():
    now = [0.0]
    relay = ProgressRelay(every=2.0, clock=lambda: now[0])
    reports = []
    with relay.listening("job-a", reports.append):
        relay.on_progress(None, "job-a", 10.0, "decoding")
        relay.on_progress(None, "job-a", 11.0, None)  # too soon, same stage: thinned out
        relay.on_progress(None, "job-b", 50.0, "other")  # nobody listens for job-b
        now[0] = 2.5
        relay.on_progress(None, "job-a", 30.0, None)
        relay.on_progress(None, "job-a", 31.0, "scoring")  # a new stage is always told
    relay.on_progress(None, "job-a", 99.0, "done")  # after the request: nobody listens
    assert reports == [{"job_id": "job-a", "progress": 10.0, "stage": "decoding"}, {"job_id": "job-a", "progress": 30.0, "stage": "decoding"},
                       {"job_id": "job-a", "progress": 31.0, "stage": "scoring"}]


def test_the_runpod_handler_reports_progress_with_the_sdk(local_store, monkeypatch):
    import runpod

    for name, value in storage_env(local_store, ERGO_DISPATCH_MODE="worker").items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("ergo_runpod_handler", "deploy/handler.py")
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    from tests import sample_tasks

    sample_tasks.register(handler.service.app)
    handler.service.progress.every = 0.0
    sent = []
    monkeypatch.setattr(runpod.serverless, "progress_update", lambda job, progress: sent.append((job["id"], progress)))
    doc = handler.service.app.queue.enqueue("tests.steps", [], {"count": 3, "delay": 0.0}, 0)
    answer = asyncio.run(handler.handler({"id": "rp-42", "input": {"action": "execute", "job_id": doc.job_id}}))
    assert answer["job_status"]["status"] == "completed"
    assert [progress["progress"] for _, progress in sent] == pytest.approx([100 / 3, 200 / 3, 100.0])
    assert {request_id for request_id, _ in sent} == {"rp-42"} and sent[0][1]["stage"] == "stepping"
    assert handler.concurrency(1) == 1  # a GPU endpoint takes one request at a time


# -- guards ------------------------------------------------------------------------------------------------
def gateway(store, tokens: str | None = None):
    service = build_service(make_app(store, eager=False, tasks=TASK_MODULES), ServiceSettings(dispatch_mode="worker"))
    return TestClient(create_gateway(GatewaySettings(api_tokens=tokens), service), base_url="http://localhost")


def test_large_bodies_are_refused_before_they_are_parsed(local_store):
    client = gateway(local_store)
    declared = client.post("/api/get_status", json={"job_id": "x" * 70_000})  # valid JSON: refused for its size, not its content
    assert declared.status_code == 413 and declared.json() == {
        "status": "error", "code": "body_too_large", "error": "The request body is larger than 64 KB."}
    streamed = client.post("/api/get_status", content=iter([b'{"job_id": "' + b"x" * 40_000, b"x" * 40_000 + b'"}']),
                           headers={"Content-Type": "application/json"})  # chunked: no length declared
    assert streamed.status_code == 413 and streamed.json()["code"] == "body_too_large"
    assert client.post("/api/health", json={}).status_code == 200


def test_every_answer_uses_the_error_format(local_store):
    client = gateway(local_store)  # with the page mounted at "/", as ergo serve runs it
    assert client.get("/").status_code == 200
    wrong_method = client.get("/api/get_status")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
    missing = client.get("/missing.js")
    assert missing.status_code == 404 and missing.json() == {"status": "error", "code": "not_found", "error": "Nothing is here."}
    not_a_form = client.post("/index.html", json={})
    assert not_a_form.status_code == 405 and not_a_form.json()["code"] == "method_not_allowed"
    broken = client.post("/api/get_status", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_input"


def test_wrong_tokens_are_limited_per_address(local_store):
    client = gateway(local_store, tokens="alice,root:operator")
    wrong = [client.post("/api/health", json={}, headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(12)]
    assert wrong == [401] * 10 + [429] * 2
    assert int(client.post("/api/health", json={}, headers={"Authorization": "Bearer guess"}).headers["Retry-After"]) >= 1
    # a right token from the same address (a shared NAT, a proxy) is never refused for someone else's guesses
    assert client.post("/api/health", json={}, headers={"Authorization": "Bearer alice"}).status_code == 200


def test_identity_never_comes_from_the_input(s3_store):
    with runpod_standin() as runpod:
        service = runpod_service(s3_store, runpod)
        for claim in ({"_operator": False}, {"_client": "alice"}):
            answer = action(service, "list_jobs", **claim)
            assert answer["code"] == "invalid_input" and "_" in answer["error"]


@pytest.mark.parametrize("host,tokens,insecure,refused", [
    ("127.0.0.1", None, False, False), ("::1", None, False, False), ("localhost", None, False, False),
    ("0.0.0.0", None, False, True), ("192.168.1.20", None, False, True), ("ergo.example", None, False, True),
    ("0.0.0.0", "alice", False, False), ("0.0.0.0", None, True, False),
])
def test_serve_refuses_a_public_address_without_tokens(host, tokens, insecure, refused):
    settings = GatewaySettings(api_tokens=tokens)
    if refused:
        with pytest.raises(ValueError, match="--insecure-no-auth"):
            check_exposure(host, settings, insecure)
    else:
        check_exposure(host, settings, insecure)


def test_serve_on_all_addresses_without_tokens_stops_with_words(local_store):
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "serve", "--host", "0.0.0.0"], env=storage_env(local_store),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "every caller an operator" in result.stderr and "Traceback" not in result.stderr
