"""`ergo serve` and `ergo submit`: real HTTP, both storage backends, auth, limits."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from fastapi.testclient import TestClient

from ergo_tasks import State
from ergo_tasks.analysis import ANALYZE_TASK, TASK_MODULES
from ergo_tasks.analysis.keys import OPERATOR
from ergo_tasks.service.access import AUTH_FAILURE_BURST, AUTH_GLOBAL_FAILURE_BURST, RateLimiter
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.http import create_gateway
from ergo_tasks.service.settings import GatewaySettings, ServiceSettings
from pipeline.results import load_result
from pipeline.synthetic import make_video
from tests.helpers import make_app, mp4_lookalike, serve, storage_env


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
            "frames", "frames.csv", "report.pdf", "report.xlsx", "result.pkl", "skeleton.json", "summary.json"]
        assert all(p.read_bytes()[:3] == b"\xff\xd8\xff" for p in (tmp_path / "out" / "frames").iterdir())
        assert load_result(tmp_path / "out" / "result.pkl").job_id == summary["job_id"]
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
    return TestClient(create_gateway(config, service=service), base_url="http://127.0.0.1"), service


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
    client = TestClient(create_gateway(GatewaySettings(frontend_dir=tmp_path), service=service), base_url="http://localhost")
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
    assert info["artifacts"] == FILES and set(info["artifact_labels"]) == set(FILES) and info["risk_levels"] == {k: [list(row) for row in v] for k, v in RISK_LEVELS.items()}
    # the table the page colours by is the table the scores are levelled by
    for level, highest, _label in RISK_LEVELS["rula"]:
        assert rula_action_level(highest) == level
    refused = client.post("/api/start_processing", json={"video_key": "uploads/x/y.mp4", "quality": "ultra"}).json()
    assert refused["code"] == "invalid_input" and "'low', 'medium' or 'high'" in refused["error"]


def test_tokens_may_contain_colons_and_equals_signs(local_store, tmp_path):
    """A token is the whole entry; only a final ':operator' is a role (the old parser cut 'alice:secret' at the ':')."""
    settings = GatewaySettings(api_tokens=" alice:longsecret-XYZ , b64:QUJD==:operator,plain")
    assert settings.tokens() == {"alice:longsecret-XYZ": "user", "b64:QUJD==": "operator", "plain": "user"}
    client, _ = gateway(local_store, tokens="alice:longsecret-XYZ,root=1:operator")
    assert client.post("/api/health", json={}, headers={"Authorization": "Bearer alice"}).status_code == 401
    assert client.post("/api/health", json={}, headers={"Authorization": "Bearer alice:longsecret-XYZ"}).status_code == 200
    assert client.post("/api/list_jobs", json={}, headers={"Authorization": "Bearer root=1"}).status_code == 200
    tokens = tmp_path / "tokens"
    tokens.write_text("# comment\nbob:s=e:cret\nops:key operator\n")
    assert GatewaySettings(api_tokens_file=tokens).tokens() == {"bob:s=e:cret": "user", "ops:key": "operator"}


def _from(app, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def test_wrong_tokens_are_limited_per_address_and_overall_and_never_lock_out_a_right_token(local_store):
    """The issue's attack: 40 addresses x 12 wrong tokens got 400 guesses answered; one address's failures locked out
    the right tokens behind it. Now a global ceiling holds across addresses and a right token always gets in."""
    client, _ = gateway(local_store, tokens="alice-secret-token,ops-secret-token:operator", rate_limit_burst=100)
    app = client.app
    right = {"Authorization": "Bearer alice-secret-token"}
    answered = refused = 0
    for address in range(40):
        guesser = _from(app, f"10.0.{address}.1")
        for guess in range(12):
            code = guesser.post("/api/health", json={}, headers={"Authorization": f"Bearer guess-{address}-{guess}"}).status_code
            answered += code == 401
            refused += code == 429
        assert guesser.post("/api/health", json={}, headers=right).status_code == 200  # the same address, the right token
    assert answered + refused == 480
    assert answered <= AUTH_GLOBAL_FAILURE_BURST + 5, (answered, refused)  # the ceiling, with room for refill while it ran
    assert _from(app, "10.9.9.9").post("/api/list_jobs", json={}, headers={"Authorization": "Bearer ops-secret-token"}).status_code == 200


def test_an_address_that_guesses_is_refused_before_the_global_ceiling(local_store):
    client, _ = gateway(local_store, tokens="alice-secret-token")
    guesser, bystander = _from(client.app, "10.1.1.1"), _from(client.app, "10.2.2.2")
    codes = [guesser.post("/api/health", json={}, headers={"Authorization": f"Bearer g{n}"}).status_code for n in range(12)]
    assert codes[:AUTH_FAILURE_BURST] == [401] * AUTH_FAILURE_BURST and set(codes[AUTH_FAILURE_BURST:]) == {429}
    assert bystander.post("/api/health", json={}, headers={"Authorization": "Bearer typo"}).status_code == 401  # its own budget


def test_serve_ignores_x_forwarded_for_unless_told_which_proxy_to_trust(local_store, tmp_path):
    """uvicorn trusts X-Forwarded-For from loopback by default: a new header per guess was a new address, no limit at all."""
    process, url = serve(local_store, tmp_path, ERGO_API_TOKENS="alice-secret-token", ERGO_SERVE_WORKERS="0")
    try:
        codes = []
        for n in range(AUTH_FAILURE_BURST + 3):
            request = urllib.request.Request(f"{url}/api/health", data=b"{}", method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Bearer g{n}", "X-Forwarded-For": f"203.0.113.{n}"})
            try:
                urllib.request.urlopen(request, timeout=10)
            except urllib.error.HTTPError as error:
                codes.append(error.code)
        assert codes[-1] == 429, codes
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_without_tokens_only_local_host_names_are_answered(local_store):
    """DNS rebinding: a page on another site that resolves its name to 127.0.0.1 reaches the API through the browser,
    with its own name in Host. Without tokens, only the names this server is known by are answered."""
    client, _ = gateway(local_store)
    for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"):
        assert client.post("/api/list_jobs", json={}, headers={"Host": host}).status_code == 200, host
    for host in ("attacker.example", "attacker.example:8000", "127.0.0.1.attacker.example", ""):
        refused = client.post("/api/list_jobs", json={}, headers={"Host": host})
        assert refused.status_code == 421 and refused.json()["code"] == "invalid_host", host
    assert client.get("/api/info", headers={"Host": "attacker.example"}).status_code == 421
    listed, _ = gateway(local_store, allowed_hosts="ergo.lan, box.local")
    assert listed.post("/api/health", json={}, headers={"Host": "ergo.lan:8000"}).status_code == 200
    with_tokens, _ = gateway(local_store, tokens="alice-secret-token")  # tokens protect the API: any name
    assert with_tokens.post("/api/health", json={}, headers={"Host": "ergo.example", "Authorization": "Bearer alice-secret-token"}).status_code == 200


# -- ownership: another client's ids reach nothing ------------------------------------------------
MB = 1024 * 1024
ALICE, BOB = ({"Authorization": f"Bearer {name}-secret-token"} for name in ("alice", "bob"))


def _two_clients(store):
    return gateway(store, tokens="alice-secret-token,bob-secret-token,ops-secret-token:operator",
                   service={"upload_part_bytes": 5 * MB})


def _parts_upload(client, store, size: int = 6 * MB) -> dict:
    """Alice's upload in parts (5 MB + the rest), every part sent."""
    slot = client.post("/api/generate_upload_url", json={"filename": "a.mp4", "size": size}, headers=ALICE).json()
    assert slot["method"] == "PARTS"
    for number, length in ((1, 5 * MB), (2, size - 5 * MB)):  # the first part begins like an MP4, as a video does
        store.put_part(slot["video_key"], slot["upload_id"], number, io.BytesIO(mp4_lookalike(length) if number == 1 else b"\0" * length))
    return {"video_key": slot["video_key"], "upload_id": slot["upload_id"]}


@pytest.mark.parametrize("action,extra", [("list_upload_parts", {}), ("sign_upload_parts", {"size": 6 * MB, "parts": [1]}),
                                          ("complete_upload", {"size": 6 * MB}), ("abort_upload", {})])
def test_multipart_actions_with_another_clients_ids_reach_nothing(local_store, action, extra):
    client, _ = _two_clients(local_store)
    ids = _parts_upload(client, local_store)
    answer = client.post(f"/api/{action}", json={**ids, **extra}, headers=BOB)
    assert answer.status_code == 404 and answer.json()["code"] == "upload_not_found", answer.json()
    assert not local_store.exists(ids["video_key"])
    parts = client.post("/api/list_upload_parts", json=ids, headers=ALICE).json()["parts"]
    assert [part["number"] for part in parts] == [1, 2]  # Alice's upload is untouched
    assert client.post("/api/complete_upload", json={**ids, "size": 6 * MB}, headers=ALICE).json()["status"] == "success"


def test_another_clients_video_and_jobs_reach_nothing(local_store):
    client, service = _two_clients(local_store)
    slot = client.post("/api/generate_upload_url", json={"filename": "a.mp4", "size": 5000}, headers=ALICE).json()
    local_store.put(slot["video_key"], mp4_lookalike(5000))
    stolen = client.post("/api/start_processing", json={"video_key": slot["video_key"]}, headers=BOB)
    assert stolen.status_code == 404 and stolen.json()["code"] == "upload_not_found"
    job_id = client.post("/api/start_processing", json={"video_key": slot["video_key"]}, headers=ALICE).json()["job_id"]
    for action, extra in (("get_status", {}), ("generate_download_url", {"artifact": "pkl"}), ("cancel_job", {})):
        answer = client.post(f"/api/{action}", json={"job_id": job_id, **extra}, headers=BOB)
        assert answer.status_code == 404 and answer.json()["code"] == "job_not_found", action
    assert service.app.jobs.read(job_id).doc.state == State.PENDING


def test_jobs_always_have_an_owner_and_ownerless_ones_are_for_operators(local_store):
    """A job without an owner (started before owners were recorded, or by another tool) was readable by every client."""
    client, service = _two_clients(local_store)
    orphan = service.app.queue.enqueue(ANALYZE_TASK, [], {"video_key": "uploads/" + "0" * 32 + "/a.mp4"}, 0).job_id
    hidden = client.post("/api/get_status", json={"job_id": orphan}, headers=BOB)
    assert hidden.status_code == 404 and hidden.json()["code"] == "job_not_found"
    ops = {"Authorization": "Bearer ops-secret-token"}
    assert client.post("/api/get_status", json={"job_id": orphan}, headers=ops).json()["status"] == "success"
    key = service.handle_event({"input": {"action": "generate_upload_url", "filename": "b.mp4", "size": 5000}})["video_key"]
    local_store.put(key, mp4_lookalike(5000))
    started = service.handle_event({"input": {"action": "start_processing", "video_key": key}})  # the RunPod console: an operator
    assert service.app.jobs.read(started["job_id"]).doc.owner == OPERATOR


def test_abort_upload_with_a_forged_id_says_so(local_store):
    client, _ = _two_clients(local_store)
    ids = _parts_upload(client, local_store)
    for forged in ("0" * 32, "not-an-id", ids["upload_id"][::-1]):
        answer = client.post("/api/abort_upload", json={**ids, "upload_id": forged}, headers=ALICE)
        assert answer.status_code == 404 and answer.json()["code"] == "upload_not_found", forged
    assert client.post("/api/abort_upload", json=ids, headers=ALICE).json() == {"status": "success", "aborted": True}


@pytest.mark.parametrize("argv,trusted", [([], None), (["--forwarded-allow-ips", "10.0.0.5"], "10.0.0.5")])
def test_serve_believes_proxy_headers_only_from_the_proxies_it_is_told(monkeypatch, argv, trusted):
    import uvicorn

    from ergo_tasks.cli import main
    from ergo_tasks.service import http

    ran = {}
    monkeypatch.setattr(http, "build_gateway", lambda host, port, settings: "app")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: ran.update(options))
    assert main(["serve", *argv]) == 0
    assert ran["proxy_headers"] is (trusted is not None) and ran["forwarded_allow_ips"] == trusted
