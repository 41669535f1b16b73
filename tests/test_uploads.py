"""Uploads on the real LocalStack S3: a large video in parts, resumed after a dropped connection and after the
client died; the size limit on every path; a video that cannot be replaced once a job uses it."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.parse

import pytest
import requests

from ergo_tasks.analysis import register
from ergo_tasks.analysis.settings import AnalysisSettings
from ergo_tasks.service import client as client_module
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.client import ApiClient, upload_video
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from pipeline.synthetic import make_video
from tests.helpers import make_app, mp4_lookalike, serve

MB = 1024 * 1024
PART = 8 * MB


pytestmark = pytest.mark.usefixtures("random_weights")


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "long shift.mp4"
    with open(path, "wb") as out:
        out.write(mp4_lookalike(MB))  # the service looks at the first bytes before it takes the upload
        for _ in range(59):
            out.write(os.urandom(MB))
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def service_for(store, **settings):
    app = make_app(store, eager=False)
    register(app, AnalysisSettings(max_upload_bytes=settings.pop("worker_max_bytes", 10 * 1024**3)))
    return build_service(app, ServiceSettings(**{"dispatch_mode": "worker", "upload_part_bytes": PART, **settings}))


def call(service, action: str, **params) -> dict:
    return service.handle_event({"input": {"action": action, **params}})


def drop_mid_part(url: str, length: int) -> None:
    """Send the headers and half the body of a part, then hang up: a connection that broke off."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    connection.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    connection.send(b"\0" * (length // 2))
    connection.sock.close()


@pytest.mark.slow
def test_a_60_mb_video_goes_up_in_8_mb_parts_and_resumes_after_a_drop_and_a_crash(s3_store, big_file, tmp_path, monkeypatch):
    process, url = serve(s3_store, tmp_path, ERGO_UPLOAD_PART_BYTES=str(PART))
    state = tmp_path / "upload-state"
    try:
        client = ApiClient(url)
        sent: list[int] = []
        real_put = client_module._put_range

        def dies_after_three(target, path, offset, length, headers, bar, attempts=3):
            if len(sent) == 3:
                raise SystemExit("the laptop lid closed")
            real_put(target, path, offset, length, headers, bar, attempts)
            sent.append(offset // PART + 1)

        monkeypatch.setattr(client_module, "_put_range", dies_after_three)
        with pytest.raises(SystemExit):
            upload_video(client, big_file, show=False, workers=1, state_dir=state)
        [record] = state.iterdir()  # the upload is remembered, like the page's saved upload across a reload
        slot = json.loads(record.read_text())
        assert slot["part_size"] == PART and slot["part_count"] == 8
        key, upload_id = slot["video_key"], slot["upload_id"]
        assert [p.number for p in s3_store.uploaded_parts(key, upload_id)] == [1, 2, 3] and not s3_store.exists(key)

        # a connection drops halfway through part 4: storage keeps nothing of it
        part_url = client.call("sign_upload_parts", video_key=key, upload_id=upload_id, size=60 * MB, parts=[4])["urls"]["4"]
        drop_mid_part(part_url, PART)
        assert [p.number for p in s3_store.uploaded_parts(key, upload_id)] == [1, 2, 3]

        sent.clear()
        monkeypatch.setattr(client_module, "_put_range", lambda *a, **k: (real_put(*a, **k), sent.append(a[2] // PART + 1)))
        assert upload_video(client, big_file, show=False, workers=4, state_dir=state) == key
        assert sorted(sent) == [4, 5, 6, 7, 8]  # only what storage did not have
        assert list(state.iterdir()) == []
        stored = s3_store.get(key).body
        assert len(stored) == 60 * MB and sha256(stored) == sha256(big_file.read_bytes())
        job = client.call("start_processing", video_key=key, quality="low")
        assert job["status"] == "success"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_size_limit_holds_on_every_path(s3_store):
    service = service_for(s3_store, max_upload_bytes=20 * MB)
    assert call(service, "generate_upload_url", filename="a.mp4", size=20 * MB + 1)["code"] == "file_too_large"

    single = call(service, "generate_upload_url", filename="a.mp4", size=1000)
    longer = requests.put(single["upload_url"], data=b"x" * 2000, headers=single["headers"])
    assert longer.status_code == 403 and not s3_store.exists(single["video_key"])  # the length is signed

    parts = call(service, "generate_upload_url", filename="b.mp4", size=12 * MB)
    assert parts["method"] == "PARTS" and (parts["part_size"], parts["part_count"]) == (PART, 2)
    key, upload_id = parts["video_key"], parts["upload_id"]
    urls = call(service, "sign_upload_parts", video_key=key, upload_id=upload_id, size=12 * MB, parts=[1, 2])["urls"]
    assert requests.put(urls["2"], data=b"x" * (4 * MB + 1)).status_code == 403  # each part's length is signed too
    assert requests.put(urls["1"], data=mp4_lookalike(PART)).status_code == 200
    assert call(service, "sign_upload_parts", video_key=key, upload_id=upload_id, size=12 * MB, parts=[3])["code"] == "invalid_input"
    assert call(service, "sign_upload_parts", video_key=key, upload_id=upload_id, size=40 * MB, parts=[1])["code"] == "file_too_large"
    incomplete = call(service, "complete_upload", video_key=key, upload_id=upload_id, size=12 * MB)
    assert incomplete["code"] == "upload_incomplete" and "part 2 of 2" in incomplete["error"]
    # a client that declares more than it signed for, at completion, is held to the limit
    assert call(service, "complete_upload", video_key=key, upload_id=upload_id, size=30 * MB)["code"] == "file_too_large"
    assert requests.put(urls["2"], data=b"x" * (4 * MB)).status_code == 200
    assert call(service, "complete_upload", video_key=key, upload_id=upload_id, size=12 * MB)["size"] == 12 * MB
    assert s3_store.head(key).size == 12 * MB

    # a file that does not begin like a video is refused in words when its upload completes, before any job
    text = call(service, "generate_upload_url", filename="notes.mp4", size=9 * MB)
    urls = call(service, "sign_upload_parts", video_key=text["video_key"], upload_id=text["upload_id"], size=9 * MB, parts=[1, 2])["urls"]
    for number, length in (("1", PART), ("2", MB)):
        assert requests.put(urls[number], data=b"meeting notes\n" * (length // 14) + b"\n" * (length % 14)).status_code == 200
    refused = call(service, "complete_upload", video_key=text["video_key"], upload_id=text["upload_id"], size=9 * MB)
    assert refused["code"] == "invalid_file_type" and "is not a video this service can read" in refused["error"]


def test_the_worker_checks_the_size_again_before_it_downloads(s3_store, tmp_path):
    service = service_for(s3_store, dispatch_mode="inline", worker_max_bytes=1000)
    video = make_video(tmp_path / "clip.mp4", frames=20, width=96, height=64)
    slot = call(service, "generate_upload_url", filename="clip.mp4", size=video.stat().st_size)
    assert requests.put(slot["upload_url"], data=video.read_bytes(), headers=slot["headers"]).status_code == 200
    job_id = call(service, "start_processing", video_key=slot["video_key"], quality="low")["job_id"]
    status = call(service, "get_status", job_id=job_id)["job_status"]
    assert status["status"] == "failed" and "larger than the" in status["error"]


def test_an_uploaded_video_cannot_be_replaced_once_a_job_uses_it(s3_store, tmp_path):
    service = service_for(s3_store)
    video = make_video(tmp_path / "clip.mp4", frames=20, width=96, height=64)
    slot = call(service, "generate_upload_url", filename="clip.mp4", size=video.stat().st_size)
    assert requests.put(slot["upload_url"], data=video.read_bytes(), headers=slot["headers"]).status_code == 200
    job_id = call(service, "start_processing", video_key=slot["video_key"], quality="low")["job_id"]
    other = b"\0" * video.stat().st_size
    again = requests.put(slot["upload_url"], data=other, headers=slot["headers"])  # the same link, after the job was accepted
    assert again.status_code == 412 and sha256(s3_store.get(slot["video_key"]).body) == sha256(video.read_bytes())
    without = requests.put(slot["upload_url"], data=other, headers={"Content-Type": "video/mp4"})
    assert without.status_code == 403  # dropping the condition breaks the signature

    # replaced by some other way (a person with bucket access): the worker refuses it instead of analysing it
    s3_store.put(slot["video_key"], other, content_type="video/mp4")
    service.app.run_until_ready(job_id, "worker-1")
    status = call(service, "get_status", job_id=job_id)["job_status"]
    assert status["status"] == "failed" and "replaced after the job was started" in status["error"]

    # and an upload in parts cannot complete over a video that is there
    parts = call(service, "generate_upload_url", filename="big.mp4", size=9 * MB)
    urls = call(service, "sign_upload_parts", video_key=parts["video_key"], upload_id=parts["upload_id"], size=9 * MB, parts=[1, 2])
    s3_store.put(parts["video_key"], b"first", content_type="video/mp4")
    for number, length in (("1", PART), ("2", MB)):
        assert requests.put(urls["urls"][number], data=b"y" * length).status_code == 200
    refused = call(service, "complete_upload", video_key=parts["video_key"], upload_id=parts["upload_id"], size=9 * MB)
    assert refused["code"] == "already_uploaded" and s3_store.get(parts["video_key"]).body == b"first"


def test_an_upload_can_be_cancelled_and_a_finished_one_is_not_resumed(s3_store, tmp_path):
    service = service_for(s3_store)
    slot = call(service, "generate_upload_url", filename="a.mp4", size=9 * MB)
    assert call(service, "list_upload_parts", video_key=slot["video_key"], upload_id=slot["upload_id"])["parts"] == []
    assert call(service, "abort_upload", video_key=slot["video_key"], upload_id=slot["upload_id"])["aborted"] is True
    gone = call(service, "list_upload_parts", video_key=slot["video_key"], upload_id=slot["upload_id"])
    assert gone["code"] == "upload_not_found" and "upload the video again" in gone["error"]
    forged = call(service, "list_upload_parts", video_key="uploads/../status/x.json", upload_id=slot["upload_id"])
    assert forged["code"] == "invalid_input"


def test_a_completion_retried_after_its_answer_was_lost_returns_the_stored_video(s3_store):
    """The retry found the upload gone and answered 404 upload_not_found: the client uploaded the whole file again."""
    service = service_for(s3_store)
    slot = call(service, "generate_upload_url", filename="a.mp4", size=9 * MB)
    ids = {"video_key": slot["video_key"], "upload_id": slot["upload_id"]}
    urls = call(service, "sign_upload_parts", **ids, size=9 * MB, parts=[1, 2])["urls"]
    for number, data in (("1", mp4_lookalike(PART)), ("2", b"z" * MB)):  # the first part begins like a video
        assert requests.put(urls[number], data=data).status_code == 200
    first = call(service, "complete_upload", **ids, size=9 * MB)
    assert call(service, "complete_upload", **ids, size=9 * MB) == first == {"status": "success", "video_key": ids["video_key"], "size": 9 * MB}
    assert call(service, "complete_upload", **ids, size=9 * MB - 1)["code"] == "upload_not_found"  # not what was stored


def test_another_client_cannot_touch_an_upload_on_s3(s3_store):
    service = service_for(s3_store)
    alice, bob = (Caller(client=name, operator=False, internal=False) for name in ("a" * 16, "b" * 16))
    slot = service.handle("generate_upload_url", {"filename": "a.mp4", "size": 9 * MB}, alice)
    ids = {"video_key": slot["video_key"], "upload_id": slot["upload_id"]}
    assert service.handle("abort_upload", ids, bob)["code"] == "upload_not_found"
    assert s3_store.uploaded_parts(**{"key": ids["video_key"], "upload_id": ids["upload_id"]}) == []  # still in progress
    assert service.handle("abort_upload", ids, alice)["aborted"] is True


def test_ergo_submit_run_again_after_a_lost_completion_answer_sends_nothing(local_store, tmp_path, monkeypatch):
    """The completion's answer was lost (the client died before it heard): running it again found the upload gone
    and sent the whole file a second time, orphaning the first copy."""
    video = tmp_path / "shift.mp4"
    video.write_bytes(mp4_lookalike(64) + os.urandom(6 * MB - 64))
    process, url = serve(local_store, tmp_path, ERGO_UPLOAD_PART_BYTES=str(5 * MB), ERGO_SERVE_WORKERS="0")
    try:
        client, state = ApiClient(url), tmp_path / "upload-state"
        real_call = client.call

        def answer_lost(action, **params):
            answer = real_call(action, **params)
            if action == "complete_upload":
                raise SystemExit("the connection dropped before the answer came")
            return answer

        monkeypatch.setattr(client, "call", answer_lost)
        with pytest.raises(SystemExit):
            upload_video(client, video, show=False, workers=2, state_dir=state)
        monkeypatch.setattr(client, "call", real_call)
        monkeypatch.setattr(client_module, "_put_range", lambda *a, **k: pytest.fail("sent the video again"))
        key = upload_video(client, video, show=False, workers=2, state_dir=state)
        assert local_store.get(key).body == video.read_bytes() and list(state.iterdir()) == []
        assert [info.key for info in local_store.list("uploads/")] == [key]
    finally:
        process.terminate()
        process.wait(timeout=30)
