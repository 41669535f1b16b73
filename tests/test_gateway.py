"""`ergo serve` and `ergo submit`: real HTTP, both storage backends, auth, limits."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from fastapi.testclient import TestClient

from ergo_tasks.analysis import TASK_MODULES
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.http import RateLimiter, create_gateway
from ergo_tasks.service.settings import GatewaySettings, ServiceSettings
from pipeline.results import load_result
from pipeline.synthetic import make_video
from tests.conftest import storage_env
from tests.helpers import make_app, mp4_lookalike, serve


@pytest.fixture
def clip(tmp_path):
    return make_video(tmp_path / "station.mp4", frames=30, width=96, height=64)


def submit(store, url, video, out, *extra):
    return subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "submit", str(video), "--url", url, "--quality", "low",
                           "--wait", "--poll", "0.3", "--out", str(out), *extra],
                          env=storage_env(store), capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_submit_through_serve_with_the_embedded_store(local_store, clip, tmp_path):
    process, url = serve(local_store, tmp_path)
    try:
        result = submit(local_store, url, clip, tmp_path / "out")
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Uploading" in result.stderr and "100.0%" in result.stderr and "completed" in result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
            "frames", "frames.csv", "report.pdf", "report.xlsx", "result.pkl", "summary.json"]
        assert all(p.read_bytes()[:3] == b"\xff\xd8\xff" for p in (tmp_path / "out" / "frames").iterdir())
        assert load_result(tmp_path / "out" / "result.pkl")["job_id"] == summary["job_id"]
        with urllib.request.urlopen(f"{url}/openapi.json") as response:
            spec = json.load(response)
        assert {"/api/generate_upload_url", "/api/start_processing", "/api/get_status"} <= set(spec["paths"])
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_submit_through_serve_with_localstack_storage(s3_store, clip, tmp_path):
    from statestore.s3 import configure_bucket

    configure_bucket(s3_store, ["*"], {})
    process, url = serve(s3_store, tmp_path)
    try:
        result = submit(s3_store, url, clip, tmp_path / "out")
        assert result.returncode == 0, result.stderr[-2000:]
        assert len(list(s3_store.list("uploads/"))) == 1  # the video went straight to the bucket
        assert (tmp_path / "out" / "report.xlsx").stat().st_size > 0
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- in-process gateway (ASGI) for auth, limits and the storage routes ---------------------------
def gateway(store, tokens: str | None = None, **settings):
    service = build_service(make_app(store, eager=False, tasks=TASK_MODULES), ServiceSettings(dispatch_mode="worker", **settings.pop("service", {})))
    config = GatewaySettings(api_tokens=tokens, **settings)
    return TestClient(create_gateway(config, service=service)), service


def test_tokens_and_the_operator_role(local_store):
    client, _ = gateway(local_store, tokens="alice,bob,root:operator")
    assert client.post("/api/health", json={}).json()["code"] == "unauthorized"
    assert client.post("/api/health", json={}, headers={"Authorization": "Bearer nope"}).status_code == 401
    alice, bob, root = ({"Authorization": f"Bearer {t}"} for t in ("alice", "bob", "root"))
    slot = client.post("/api/generate_upload_url", json={"filename": "a.mp4", "size": 5000}, headers=alice).json()
    local_store.put(slot["video_key"], mp4_lookalike(5000))
    job_id = client.post("/api/start_processing", json={"video_key": slot["video_key"]}, headers=alice).json()["job_id"]
    assert client.post("/api/get_status", json={"job_id": job_id}, headers=alice).json()["status"] == "success"
    other = client.post("/api/get_status", json={"job_id": job_id}, headers=bob)
    assert other.status_code == 404 and other.json()["code"] == "job_not_found"  # another client's job stays hidden
    refused = client.post("/api/list_jobs", json={}, headers=alice)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.post("/api/list_jobs", json={}, headers=root).json()["jobs"][0]["job_id"] == job_id
    assert client.post("/api/get_status", json={"job_id": job_id}, headers=root).json()["status"] == "success"
    internal = client.post("/api/execute", json={"job_id": job_id}, headers=root)  # for the RunPod endpoint only
    assert internal.status_code == 400 and internal.json()["code"] == "unknown_action"


def test_tokens_can_come_from_a_file(local_store, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("# team tokens\nviewer\nadmin operator\n")
    client, _ = gateway(local_store, api_tokens_file=tokens)
    assert client.post("/api/list_jobs", json={}, headers={"Authorization": "Bearer viewer"}).json()["code"] == "forbidden"
    assert client.post("/api/list_jobs", json={}, headers={"Authorization": "Bearer admin"}).json()["status"] == "success"
    assert client.post("/api/health", json={}, headers={"Authorization": "Bearer team"}).status_code == 401


def test_callers_cannot_claim_another_identity(local_store):
    client, service = gateway(local_store, tokens="alice,bob")
    slot = client.post("/api/generate_upload_url", json={"filename": "a.mp4", "size": 5000}, headers={"Authorization": "Bearer alice"}).json()
    local_store.put(slot["video_key"], mp4_lookalike(5000))
    answer = client.post("/api/start_processing", json={"video_key": slot["video_key"], "_client": "someone", "_operator": True},
                         headers={"Authorization": "Bearer bob"})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_input"
    assert list(local_store.list("status/")) == []


def test_rate_limit_answers_429_with_retry_after(local_store):
    client, _ = gateway(local_store, rate_limit_burst=3, rate_limit_per_minute=6)
    codes = [client.post("/api/health", json={}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.post("/api/health", json={})
    assert limited.json()["code"] == "rate_limited" and 1 <= int(limited.headers["Retry-After"]) <= 10


def test_rate_limiter_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0.0  # per client
    now[0] += 1.0
    assert limiter.take("a") == 0.0


def test_invalid_bodies_get_the_error_envelope(local_store):
    client, _ = gateway(local_store)
    for body in (b"not json", b'{"filename": 7}', b'{"filename": "x.mp4", "size": 9, "extra": 1}'):
        answer = client.post("/api/generate_upload_url", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_input" and "Traceback" not in answer.text


def _signed(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_local_uploads_check_signature_expiry_size_and_type(local_store):
    client, _ = gateway(local_store, service={"max_upload_bytes": 1000})
    slot = client.post("/api/generate_upload_url", json={"filename": "a.mp4", "size": 500}).json()
    target, headers = _signed(slot["upload_url"]), slot["headers"]
    assert headers == {"Content-Type": "video/mp4", "If-None-Match": "*"}
    tampered = target.replace(slot["video_key"].split("/")[1], "f" * 32)
    assert client.put(tampered, content=b"x" * 500, headers=headers).json()["code"] == "invalid_signature"
    stretched = target.replace("size=500", "size=900")
    assert client.put(stretched, content=b"x" * 900, headers=headers).json()["code"] == "invalid_signature"
    too_big = client.put(target, content=b"x" * 1001, headers=headers)
    assert too_big.status_code == 413 and not local_store.exists(slot["video_key"])
    longer = client.put(target, content=b"x" * 501, headers=headers)
    assert longer.status_code == 400 and longer.json()["code"] == "size_mismatch"
    shorter = client.put(target, content=b"x" * 499, headers=headers)
    assert shorter.status_code == 400 and shorter.json()["code"] == "size_mismatch" and not local_store.exists(slot["video_key"])
    unconditional = client.put(target, content=b"x" * 500, headers={"Content-Type": "video/mp4"})
    assert unconditional.status_code == 403 and "If-None-Match" in unconditional.json()["error"]
    assert client.put(target, content=b"<html>", headers={**headers, "Content-Type": "text/html"}).status_code == 415
    assert client.put(target, content=b"x" * 500, headers=headers).status_code == 200
    assert local_store.get(slot["video_key"]).body == b"x" * 500
    replaced = client.put(target, content=b"y" * 500, headers=headers)  # the same link, used again
    assert replaced.status_code == 412 and replaced.json()["code"] == "already_uploaded"
    assert local_store.get(slot["video_key"]).body == b"x" * 500
    as_download = target.replace("method=PUT", "method=GET")
    assert client.get(as_download).json()["code"] == "invalid_signature"
    expired = local_store.presign_put(slot["video_key"], expires_in=-5)
    answer = client.put(_signed(expired), content=b"x", headers={"Content-Type": "video/mp4"})
    assert answer.status_code == 403 and "expired" in answer.json()["error"]


def test_local_downloads_stream_with_a_file_name(local_store):
    client, service = gateway(local_store)
    local_store.put("results/01ARZ3NDEKTSV4RRFFQ69G5FAV/summary.json", b'{"ok": true}', content_type="application/json")
    url = local_store.presign_get("results/01ARZ3NDEKTSV4RRFFQ69G5FAV/summary.json", 60)
    answer = client.get(_signed(url))
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert answer.headers["content-disposition"] == 'attachment; filename="summary.json"'
    named = _signed(local_store.presign_get("results/01ARZ3NDEKTSV4RRFFQ69G5FAV/summary.json", 60, filename="line_3-01arz3nd-summary.json"))
    assert client.get(named).headers["content-disposition"] == 'attachment; filename="line_3-01arz3nd-summary.json"'
    renamed = named.replace("line_3-", "other-")  # the name is signed too
    assert client.get(renamed).json()["code"] == "invalid_signature"


def test_cors_is_off_unless_configured(local_store):
    closed, _ = gateway(local_store)
    assert "access-control-allow-origin" not in closed.options("/api/health", headers={
        "Origin": "https://pages.example", "Access-Control-Request-Method": "POST"}).headers
    open_, _ = gateway(local_store, cors_origins="https://pages.example")
    preflight = open_.options("/api/health", headers={"Origin": "https://pages.example", "Access-Control-Request-Method": "POST"})
    assert preflight.headers["access-control-allow-origin"] == "https://pages.example"


def test_the_frontend_is_served_when_present(local_store, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>ergo</title>")
    service = build_service(make_app(local_store, eager=False, tasks=TASK_MODULES), ServiceSettings(dispatch_mode="worker"))
    client = TestClient(create_gateway(GatewaySettings(frontend_dir=tmp_path), service=service))
    assert "<title>ergo</title>" in client.get("/").text
    info = client.get("/api/info").json()
    assert info["video_types"]["mov"] == "video/quicktime"


def test_the_page_gets_its_lists_from_the_one_source(local_store):
    from pipeline.ergonomics import RISK_LEVELS, rula_action_level
    from pipeline.presets import PRESETS
    from pipeline.results import FILES

    client, _ = gateway(local_store)
    info = client.get("/api/info").json()
    assert [p["name"] for p in info["presets"]] == list(PRESETS)
    assert [p["name"] for p in info["presets"] if p["default"]] == ["medium"]
    assert {p["name"]: p["relative_time"] for p in info["presets"]} == {"low": 1.0, "medium": 2.5, "high": 5.0}
    assert info["artifacts"] == FILES and info["risk_levels"] == {k: [list(row) for row in v] for k, v in RISK_LEVELS.items()}
    # the table the page colours by is the table the scores are levelled by
    for level, highest, _label in RISK_LEVELS["rula"]:
        assert rula_action_level(highest) == level
    refused = client.post("/api/start_processing", json={"video_key": "uploads/x/y.mp4", "quality": "ultra"}).json()
    assert refused["code"] == "invalid_input" and "'low', 'medium' or 'high'" in refused["error"]
