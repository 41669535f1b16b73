"""The web page in a real browser (Debian's Chromium, driven by Playwright) against `ergo serve`.

Screenshots of every step are saved under test-artifacts/frontend/ (printed at the end of the run).
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline.results import load_result
from pipeline.synthetic import make_video
from tests.browser import ARTIFACTS, RESULT_TIMEOUT, choose_and_start, open_page, shot
from tests.helpers import mp4_lookalike

pytestmark = pytest.mark.slow

def assert_polling_stopped(page) -> None:
    count = len(page.status_requests)
    page.wait_for_timeout(6000)
    assert len(page.status_requests) == count, "the page kept polling after the job ended"


def test_the_whole_flow_on_the_embedded_backend(page, shared_server, clip, tmp_path):
    url, _ = shared_server
    open_page(page, url)
    assert page.locator("input[name=quality]").count() == 3
    choose_and_start(page, clip)
    page.wait_for_selector("#job-progress:not([hidden])")
    shot(page, "2-processing")
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    page.wait_for_selector("#timeline svg rect.seg")
    shot(page, "3-results")
    assert "RULA" in page.inner_text("#rula-card") and "REBA" in page.inner_text("#reba-card")
    assert "RANDOM WEIGHTS" in page.inner_text("#results-warning")  # test-mode results say so on the page
    assert page.locator("#timeline svg rect.seg").count() == 2 * 8  # 8 analysed frames, RULA and REBA strips
    assert page.locator("#bands svg rect.band").count() >= 4
    assert "of frames show the worker" in page.inner_text("#detection-card")
    measurement = page.inner_text("#measurement")
    assert "keypointrcnn (random)" in measurement and "0% from 3D body points, 100% from the 2D image" in measurement
    assert "trunk flexion" in measurement and "load kg: 0" not in measurement  # the assumptions stay folded
    page.click("#measurement summary")
    assert "load kg: 0" in page.inner_text("#measurement")
    assert "?job=" in page.url
    saved = {}
    for artifact in ("pkl", "json", "csv", "xlsx", "pdf"):
        with page.expect_download() as download:
            page.click(f"#downloads button[data-artifact={artifact}]")
        saved[artifact] = tmp_path / f"download.{artifact}"
        download.value.save_as(saved[artifact])
        job_id = page.inner_text("#results-meta").split("job ")[1].split(" ")[0]
        assert download.value.suggested_filename.startswith(f"station-{job_id[:8].lower()}-")
    assert load_result(saved["pkl"]).summary.frames_analysed == 8
    assert json.loads(saved["json"].read_text())["format"] == "ergo-result"
    assert saved["csv"].read_text().startswith("frame_index,time_s")
    # each body part over time: one strip per part and method, a segment per frame the part was scored in
    import csv as csv_module

    rows = list(csv_module.DictReader(saved["csv"].open()))
    parts = [f"{m}_{p}" for m in ("rula", "reba") for p in ("upper_arm", "lower_arm", "wrist", "neck", "trunk", "legs")]
    assert page.locator("#body-parts svg text.part-label").count() == 12
    assert page.locator("#body-parts svg rect.part-seg").count() == sum(1 for row in rows for part in parts if row[part]) > 0
    from openpyxl import load_workbook

    assert load_workbook(saved["xlsx"], read_only=True).sheetnames == ["Summary", "Frames", "Charts"]
    assert_polling_stopped(page)


def test_a_reload_mid_job_picks_the_job_up_again(page, shared_server, tmp_path):
    long_clip = make_video(tmp_path / "long.mp4", frames=150, width=96, height=64, fps=10)
    url, _ = shared_server
    open_page(page, url)
    choose_and_start(page, long_clip, quality="high")
    page.wait_for_selector("#job-progress:not([hidden])")
    job_id = page.inner_text("#job-id")
    page.reload()
    page.wait_for_selector("#job-progress:not([hidden])")
    assert page.inner_text("#job-id") == job_id
    shot(page, "2-after-reload")
    fresh = page.context.new_page()
    open_page(fresh, url)  # no ?job=: the job is remembered in this browser
    fresh.wait_for_selector("#job-progress:not([hidden])")
    assert fresh.inner_text("#job-id") == job_id
    fresh.close()
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    shot(page, "3-results")
    assert_polling_stopped(page)


def test_presigned_put_from_the_browser_to_localstack(page, server, s3_store, clip):
    from statestore.s3 import configure_bucket

    url = server(s3_store)
    configure_bucket(s3_store, [url], {})  # what `ergo storage init --cors-origin` sets
    open_page(page, url)
    uploads = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "PUT" else None)
    choose_and_start(page, clip)
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    shot(page, "3-results")
    assert uploads and uploads[0].startswith(s3_store.endpoint_url)  # straight to the bucket
    assert len(list(s3_store.list("uploads/"))) == 1


def test_wrong_type_and_too_large_are_refused_before_any_upload(page, server, local_store, clip, tmp_path):
    url = server(local_store, ERGO_MAX_UPLOAD_BYTES="1000")
    open_page(page, url)
    calls = []
    page.on("request", lambda r: calls.append(r.url) if "/api/generate_upload_url" in r.url else None)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    page.set_input_files("#file-input", str(notes))
    assert "is not a video" in page.inner_text("#file-error")
    assert page.is_disabled("#start-button")
    shot(page, "wrong-type")
    page.set_input_files("#file-input", str(clip))
    assert "the limit is 1000 B" in page.inner_text("#file-error")
    assert page.is_disabled("#start-button")
    shot(page, "too-large")
    assert calls == []


def test_the_page_fits_a_phone_and_works_from_the_keyboard(browser, shared_server, clip):
    url, _ = shared_server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    open_page(phone, url)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.set_input_files("#file-input", str(clip))
    phone.focus("input[name=quality][value=medium]")
    phone.keyboard.press("ArrowUp")  # radio groups move with the arrow keys
    assert phone.is_checked("input[name=quality][value=low]")
    phone.focus("#start-button")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    folder = ARTIFACTS / "test_the_page_fits_a_phone"
    folder.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(folder / "results-on-a-phone.png"), full_page=True)
    context.close()


def test_server_down_is_said_in_words(page, shared_server):
    url, _ = shared_server
    page.route("**/api/info", lambda route: route.abort("connectionrefused"))
    open_page(page, url)
    page.wait_for_selector("#banner:not([hidden])")
    assert "Cannot reach the server" in page.inner_text("#banner")
    shot(page, "server-down")


def test_a_link_cannot_send_the_token_to_another_server(page, server, local_store, clip):
    from tests.fakes import RecordingServer

    url = server(local_store, ERGO_API_TOKENS="alice")
    with RecordingServer() as stranger:
        open_page(page, url)
        page.evaluate("localStorage.setItem('ergo.token', 'alice')")
        open_page(page, f"{url}/?api={stranger.url}")  # a crafted link
        page.wait_for_selector("#banner:not([hidden])")
        assert stranger.url in page.inner_text("#banner") and "not set up to use" in page.inner_text("#banner")
        shot(page, "refused-api")
        sent = []
        page.on("request", lambda r: sent.append((r.url, r.headers.get("authorization"))) if "/api/" in r.url else None)
        choose_and_start(page, clip)
        page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
        assert stranger.requests == []  # the stranger heard nothing, token or not
        assert sent and all(target.startswith(url) and token == "Bearer alice" for target, token in sent)


def test_a_large_upload_goes_in_parts_and_resumes_after_a_reload(page, server, local_store, tmp_path):
    from statestore.local import LocalStore

    big = tmp_path / "long shift.mp4"
    big.write_bytes(mp4_lookalike(1024) + bytes(range(256)) * (12 * 1024 * 1024 // 256) + b"end")  # 3 parts of 5 MiB
    url = server(local_store, ERGO_UPLOAD_PART_BYTES=str(5 * 1024 * 1024))
    open_page(page, url)
    parts_sent = []

    def third_part_drops(route):
        parts_sent.append(route.request.url)
        if "part=3" in route.request.url:
            route.abort("connectionreset")  # the connection drops
        else:
            route.continue_()

    page.route("**/storage/**", third_part_drops)
    choose_and_start(page, big)
    store = LocalStore(local_store.root)

    def stored_parts() -> list[str]:
        return sorted(p.name for p in (store.root / "parts").glob("*/[0-9]*") if not p.name.endswith(".tmp"))

    page.wait_for_selector("#upload-failure:not([hidden])")
    assert "what was sent is kept" in page.inner_text("#upload-error")
    for _ in range(100):  # parts 1 and 2 were on their way when part 3 broke off
        if stored_parts() == ["00001", "00002"]:
            break
        page.wait_for_timeout(100)
    assert len(parts_sent) == 3 and stored_parts() == ["00001", "00002"], (parts_sent, stored_parts())
    shot(page, "2-part-3-dropped")
    page.unroute("**/storage/**")
    page.reload()
    page.wait_for_selector("#resume-hint:not([hidden])")
    assert "Choose the same file again" in page.inner_text("#resume-hint")
    shot(page, "3-after-reload")
    resent = []
    page.on("request", lambda r: resent.append(r.url) if r.method == "PUT" else None)
    page.set_input_files("#file-input", str(big))
    page.click("#start-button")
    page.wait_for_selector("#job-progress:not([hidden])", timeout=60_000)
    shot(page, "4-resumed")
    assert len(resent) == 1 and "part=3" in resent[0]  # only the part storage did not have
    [video] = [info for info in store.list("uploads/")]
    assert store.get(video.key).body == big.read_bytes()
    assert page.evaluate("localStorage.getItem('ergo.upload')") is None


def test_a_failed_job_shows_its_error_and_offers_no_resume_that_cannot_help(page, server, local_store, tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(mp4_lookalike(2400))  # begins like an MP4 (the service takes it), holds no video (the worker fails)
    url = server(local_store, ERGO_API_TOKENS="user1,boss:operator")
    open_page(page, f"{url}/#token=boss")
    choose_and_start(page, fake)
    page.wait_for_selector("#failure-section:not([hidden])", timeout=RESULT_TIMEOUT)
    assert "The file is not a readable video" in page.inner_text("#failure-message")
    assert page.is_hidden("#resume-job")  # the same file fails the same way
    assert page.is_visible("#failure-section .new-analysis")
    shot(page, "failed")
    assert_polling_stopped(page)
    page.click("#operator-toggle")
    page.wait_for_selector("#jobs-table tbody tr")
    row = page.locator("#jobs-table tbody tr").first
    assert "failed" in row.inner_text() and row.get_by_role("button").count() == 0
    shot(page, "jobs-view")


def test_a_cancelled_job_is_resumed_by_an_operator(page, server, local_store, clip):
    url = server(local_store, ERGO_API_TOKENS="boss:operator", ERGO_SERVE_WORKERS="0")
    open_page(page, f"{url}/#token=boss")
    choose_and_start(page, clip)
    page.wait_for_selector("#cancel-job:not([hidden])")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-job")
    page.wait_for_selector("#failure-section:not([hidden])")
    assert page.is_visible("#resume-job")  # a cancelled job can go on from its checkpoint
    shot(page, "cancelled")
    page.click("#resume-job")
    page.wait_for_selector("#job-progress:not([hidden])")
    page.wait_for_function("document.querySelector('#job-detail').innerText.includes('in line')")
    shot(page, "resumed")


def test_an_expired_upload_link_is_explained_and_retried(page, server, local_store, clip):
    # The retry's own link must outlive its upload's way to the server on a loaded machine: at 1 s it did not, once,
    # nor at 3 s (2-3 s: the expiry is whole seconds), once.  So links last 6 s, only the first upload is held (the
    # retry's is not routed through the test at all), and it is held until its own link has run out, by the link's
    # expiry time rather than a guess of how long the way to the handler takes.
    url = server(local_store, ERGO_UPLOAD_URL_EXPIRY_S="6")
    open_page(page, url)

    def slow_put(route):
        expires = int(parse_qs(urlsplit(route.request.url).query)["expires"][0])
        time.sleep(max(0.0, expires + 1.0 - time.time()))  # the link expires while the request waits
        route.continue_()

    page.route("**/storage/**", slow_put, times=1)
    choose_and_start(page, clip)
    page.wait_for_selector("#upload-failure:not([hidden])")
    assert "expired" in page.inner_text("#upload-error")
    shot(page, "expired-link")
    page.click("#retry-upload")
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    shot(page, "after-retry")


def test_cancelling_an_upload(page, server, local_store, tmp_path):
    big = make_video(tmp_path / "big.mp4", frames=30, width=96, height=64)
    url = server(local_store)
    open_page(page, url)
    held = []
    page.route("**/storage/**", lambda route: held.append(route))  # the upload hangs, as on a slow line
    choose_and_start(page, big)
    page.wait_for_selector("#upload-progress:not([hidden])")
    for _ in range(200):  # route handlers run only while Playwright pumps its events, so wait through it
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the upload request never started"
    shot(page, "uploading")
    page.click("#cancel-upload")
    page.wait_for_selector("#upload-failure:not([hidden])")
    assert "cancelled" in page.inner_text("#upload-error")
    assert page.is_visible("#retry-upload")
    shot(page, "cancelled")
    assert list(local_store.list("status/")) == [] and list(local_store.list("uploads/")) == []


def test_cancelling_an_upload_in_parts_drops_what_it_sent(page, server, local_store, tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (11 * 1024 * 1024))  # 3 parts of 5 MiB, the last short
    url = server(local_store, ERGO_UPLOAD_PART_BYTES=str(5 * 1024 * 1024))
    open_page(page, url)
    held = []
    page.route("**/storage/**", lambda route: held.append(route) if "part=2" in route.request.url else route.continue_())
    choose_and_start(page, big)
    for _ in range(300):
        if held and any((local_store.root / "parts").glob("*/00001")):
            break
        page.wait_for_timeout(100)
    assert held, "part 2 never started"
    page.click("#cancel-upload")
    page.wait_for_selector("#upload-failure:not([hidden])")
    assert "cancelled" in page.inner_text("#upload-error")
    for _ in range(100):  # the abort is sent as the upload stops
        if not any((local_store.root / "parts").iterdir()):
            break
        page.wait_for_timeout(100)
    assert list((local_store.root / "parts").iterdir()) == [] and list(local_store.list("uploads/")) == []
    assert page.evaluate("localStorage.getItem('ergo.upload')") is None
    shot(page, "cancelled-parts")


def test_the_page_reads_frames_csv_cells_that_hold_commas(page, shared_server):
    """frames.csv quotes a cell with a comma in it (a rejection's reason, say): the page must not shift the columns."""
    url, _ = shared_server
    open_page(page, url)
    csv = 'time_s,rejections,rula_grand_score,reba_reba_score\n0.5,"too small, and cut off",3,4\n1.0,"said ""twice""",,7\n'
    frames = page.evaluate("async (csv) => (await import('./charts.js')).parseFrames(csv)", csv)
    assert [(f["time"], f["rula"], f["reba"]) for f in frames] == [(0.5, 3, 4), (1.0, None, 7)]
