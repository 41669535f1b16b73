"""The page's second pass, in Chromium: what a safety engineer and an operator ran into, each point fixed and
kept fixed here, with axe-core's accessibility check and a keyboard walk. Screenshots go to test-artifacts/frontend/."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, RESULT_TIMEOUT, choose_and_start, shot

pytestmark = pytest.mark.slow

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def api(url: str, action: str, token: str | None = None, **params) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(f"{url}/api/{action}", data=json.dumps(params).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def queued_job(url: str, store, name: str = "queued.mp4", token: str | None = None) -> str:
    """A job made through the API, as another user's page would make it."""
    slot = api(url, "generate_upload_url", token, filename=name, size=2000)
    store.put(slot["video_key"], b"0" * 2000, content_type="video/mp4")
    return api(url, "start_processing", token, video_key=slot["video_key"], quality="low")["job_id"]


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: `make test` installs it from the npm registry (tests/axe).")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                          ".filter(v => ['serious', 'critical'].includes(v.impact))"
                          ".map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)")
    return found


def test_a_user_can_enter_a_token_or_get_it_with_a_link(page, server, local_store, clip):
    url = server(local_store, ERGO_API_TOKENS="user1,boss:operator")
    page.goto(url)
    page.wait_for_selector("#access-section:not([hidden])")  # the server says it needs one: the page asks at once
    assert page.inner_text("#file-hint") == "MP4, MOV, AVI, MKV, WEBM or M4V, up to 10.0 GB"  # from /api/info
    shot(page, "1-asks-for-a-token")
    choose_and_start(page, clip)
    page.wait_for_selector("#upload-failure:not([hidden])")
    assert "needs an access token" in page.inner_text("#upload-error")
    assert page.evaluate("document.activeElement.id") == "token-input"
    page.fill("#token-input", "user1")
    page.click("#token-form button[type=submit]")
    assert "Saved" in page.inner_text("#token-saved")
    page.click("#retry-upload")
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    shot(page, "2-results-with-a-user-token")

    shared = page.context.browser.new_context()
    other = shared.new_page()
    other.goto(f"{url}/#token=user1")  # the link an operator shares; the fragment never reaches a server
    other.wait_for_selector("input[name=quality]")
    assert other.evaluate("localStorage.getItem('ergo.token')") == "user1" and "#token" not in other.url
    assert other.is_hidden("#access-section")
    shared.close()


def test_the_operator_list_refreshes_itself_shows_what_a_job_is_and_asks_before_cancelling(page, server, local_store):
    url = server(local_store, ERGO_API_TOKENS="boss:operator", ERGO_SERVE_WORKERS="0")
    first = queued_job(url, local_store, "line 3 morning.mp4", "boss")
    page.goto(f"{url}/#token=boss")
    page.click("#operator-toggle")
    page.wait_for_selector("#jobs-table tbody tr")
    row = page.inner_text("#jobs-table tbody tr")
    for shown in ("line_3_morning.mp4", "low", "queued", "0%", "ago", "0 of 3"):
        assert shown in row, (shown, row)
    shot(page, "1-operator-list")
    queued_job(url, local_store, "packing.mp4", "boss")  # another user starts a job; nobody presses Refresh
    page.wait_for_function("document.querySelectorAll('#jobs-table tbody tr').length === 2", timeout=15_000)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("#jobs-table tbody tr", has_text="line_3_morning").get_by_role("button", name="Cancel").click()
    page.wait_for_timeout(500)
    assert asked and "Cancel this analysis?" in asked[0]
    assert api(url, "get_status", "boss", job_id=first)["job_status"]["status"] == "queued"  # dismissed: nothing happened
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#jobs-table tbody tr", has_text="line_3_morning").get_by_role("button", name="Cancel").click()
    page.wait_for_function("[...document.querySelectorAll('#jobs-table tbody tr')].some(r => r.innerText.includes('cancelled'))")
    assert api(url, "get_status", "boss", job_id=first)["job_status"]["status"] == "cancelled"
    cancelled = page.locator("#jobs-table tbody tr", has_text="line_3_morning")
    assert cancelled.get_by_role("button", name="Resume").count() == 1  # a cancelled job can be resumed
    shot(page, "2-after-cancel")
    page.click("#operator-toggle")  # closed: the list stops refreshing
    requests = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/api/list_jobs") else None)
    page.wait_for_timeout(7000)
    assert requests == []


def test_while_a_job_waits_another_can_start_and_its_owner_can_cancel_it(page, server, local_store, clip):
    url = server(local_store, ERGO_API_TOKENS="user1,user2", ERGO_SERVE_WORKERS="0")
    queued_job(url, local_store, "someone else.mp4", "user2")  # ahead in the queue
    page.goto(f"{url}/#token=user1")
    choose_and_start(page, clip)
    page.wait_for_selector("#job-progress:not([hidden])")
    page.wait_for_function("document.querySelector('#job-detail').innerText.includes('in line')")
    detail = page.inner_text("#job-detail")
    assert "2nd in line" in detail and "estimating when it starts" in detail
    shot(page, "1-queued-second")
    first_job = page.inner_text("#job-id")
    page.click("#job-progress .new-analysis")  # always reachable
    page.wait_for_selector("#upload-section:not([hidden])")
    choose_and_start(page, clip)
    page.wait_for_selector("#job-progress:not([hidden])")
    page.wait_for_function("document.querySelector('#job-detail').innerText.includes('3rd in line')")
    shot(page, "2-another-queued")
    page.goto(f"{url}/?job={first_job}")
    page.wait_for_selector("#cancel-job:not([hidden])")  # a user (no operator token) may cancel their own job
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-job")
    page.wait_for_selector("#failure-section:not([hidden])")
    assert "cancelled" in page.inner_text("#failure-title")
    shot(page, "3-cancelled-by-its-owner")


def test_progress_never_goes_back_says_estimating_and_says_when_a_job_is_stalled(page, server, local_store):
    from tests.helpers import make_app

    url = server(local_store, ERGO_SERVE_WORKERS="0", ERGO_HEARTBEAT_SECONDS="1")
    job_id = queued_job(url, local_store)
    answers = [40.0, 12.0, 45.0]
    answered = []

    def rewrite(route):  # the server's answers, with progress that jumps back as the old page showed
        response = route.fetch()
        body = response.json()
        progress = answers[min(len(answered), len(answers) - 1)]
        body["job_status"].update(status="processing", state="PROGRESS", stage="analysing poses", stalled=False, progress=progress)
        answered.append(progress)
        route.fulfill(response=response, json=body)

    page.route("**/api/get_status", rewrite)
    page.goto(f"{url}/?job={job_id}")
    shown = []
    while len(answered) < 4:  # polls come every 2 s and more: read the page in between
        page.wait_for_timeout(250)
        shown.append(page.inner_text("#job-detail"))
    percents = [int(match.group(1)) for line in shown if (match := re.match(r"(\d+)%", line))]
    assert percents and percents == sorted(percents) and 12 not in percents and max(percents) == 45, shown
    assert any("estimating time left" in line for line in shown) and "0:01 left" not in " ".join(shown)
    assert page.inner_text("#job-stage") == "Analysing poses"
    page.unroute("**/api/get_status")

    worker = make_app(local_store, eager=False, lease_seconds=600)
    assert worker.queue.claim("gpu-that-went-quiet", job_id=job_id) is not None  # then never writes again
    page.wait_for_function("document.querySelector('#job-detail').innerText.includes('no word from the worker')", timeout=30_000)
    assert "left" not in page.inner_text("#job-detail")  # no frozen time left
    shot(page, "stalled")


def test_an_expired_download_link_is_explained_in_words(page, server, local_store):
    url = server(local_store)
    local_store.put("results/01ARZ3NDEKTSV4RRFFQ69G5FAV/report.xlsx", b"x" * 100)
    expired = local_store.presign_get("results/01ARZ3NDEKTSV4RRFFQ69G5FAV/report.xlsx", expires_in=-5)
    page.goto(url)
    page.goto(expired.replace("http://127.0.0.1:8000", url))
    body = page.inner_text("body")
    assert "This download link cannot be used" in body and "expired" in body and '{"status"' not in body
    shot(page, "expired-link")


def test_the_results_read_right_at_phone_width_with_legends_and_no_console_errors(browser, server, local_store, clip):
    url = server(local_store)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.shots = ARTIFACTS / "test_the_results_at_phone_width"
    phone.shots.mkdir(parents=True, exist_ok=True)
    problems = []
    phone.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    phone.on("response", lambda response: problems.append(f"{response.status} {response.url}") if response.status >= 400 else None)

    def with_held_postures(route):
        response = route.fetch()
        body = response.json()
        if body.get("job_status", {}).get("summary"):
            body["job_status"]["summary"]["sustained_postures"] = [
                {"part": "neck", "band": "normal", "start_s": 0.0, "end_s": 6.0, "duration_s": 6.0},
                {"part": "trunk", "band": "moderate", "start_s": 1.5, "end_s": 6.5, "duration_s": 5.0}]
            inputs = body["job_status"]["inputs"]  # as BlazePose's hand points measure the wrist where they are seen
            inputs["measured"].append("wrist_flexion")
            inputs["frames_measured"]["wrist_flexion"] = 1
        route.fulfill(response=response, json=body)

    phone.route("**/api/get_status", with_held_postures)
    phone.goto(url)
    choose_and_start(phone, clip)
    phone.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    phone.wait_for_selector("#timeline svg rect.seg")
    shot(phone, "results")
    assert problems == []  # the favicon included
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for chart in ("#timeline", "#bands"):  # too wide for the phone: it scrolls, and the page says so
        assert phone.evaluate(f"(() => {{ const c = document.querySelector('{chart}');"
                              f" return c.scrollWidth > c.clientWidth && getComputedStyle(c).overflowX === 'auto'; }})()")
    assert phone.is_visible(".scroll-hint")
    legend = phone.inner_text("#timeline-legend")
    assert "RULA 7: investigate and change immediately" in legend and "REBA 11-15: very high" in legend and "grey" in legend
    ticks = phone.evaluate("[...document.querySelectorAll('#timeline svg text')].map(t => t.textContent)")
    assert {"1", "3", "5", "7", "15"} <= set(ticks)  # a score axis on each strip
    meta = phone.inner_text("#results-meta")
    assert "$" not in meta and "station.mp4" in meta  # no worker cost for the engineer; the video's name
    for card in ("#rula-card", "#reba-card"):
        text = phone.inner_text(card)
        assert re.search(r"mean (\d+\.\d|–)", text) and not re.search(r"mean \d+\.\d\d", text)
        assert all(re.fullmatch(r"\d+:\d\d\.\d: score \d+", line) for line in phone.locator(f"{card} ol li").all_inner_texts())
        assert phone.evaluate(f"getComputedStyle(document.querySelector('{card} td')).whiteSpace") == "nowrap"
    # a 4 s clip has no posture held 4 s; the answer gets two, as a longer video's would
    assert phone.locator("#sustained li").all_inner_texts() == ["trunk: moderate from 0:01.5 for 5.0 s"]
    status = api(url, "get_status", job_id=re.search(r"job=(\w+)", phone.url).group(1))["job_status"]
    summary = status["summary"]  # what the result stands on, in words, each share of all analysed frames
    counts = [summary["frames_scored"], summary["frames_ranged"], summary["frames_unscored"]]
    assert sum(counts) == summary["frames_analysed"]
    basis = phone.inner_text("#score-basis")
    share = [round(100 * count / summary["frames_analysed"]) for count in counts]
    for expected in (f"{share[0]}% of frames scored exactly", f"{share[1]}% as a range", f"{share[2]}% not scored"):
        assert expected in basis, basis
    assert f"Shares of the {summary['rula']['scored_frames']} exactly scored frames" in phone.inner_text("#rula-card")
    phone.click("#measurement summary")
    inputs = status["inputs"]
    wrist = [line for line in phone.locator("#measurement details li").all_inner_texts() if line.startswith("wrist flexion")]
    assert wrist == [f"wrist flexion: 0 (measured where seen; this value stood in for the {inputs['frames_scored'] - 1} scored "
                     "frames where it was not)"]
    context.close()


def test_accessibility_and_the_keyboard_path(page, server, local_store, clip, tmp_path):
    url = server(local_store, ERGO_API_TOKENS="boss:operator")
    page.goto(f"{url}/#token=boss")
    page.wait_for_selector("input[name=quality]")
    assert accessibility_problems(page) == []
    choose_and_start(page, clip)
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    page.wait_for_selector("#timeline svg rect.seg")
    page.click("#operator-toggle")
    page.wait_for_selector("#jobs-table tbody tr")
    page.click("#token-toggle")
    assert accessibility_problems(page) == []
    shot(page, "results-operator-and-token")

    # every control on the page is reached with the Tab key alone
    controls = page.evaluate("""[...document.querySelectorAll('a[href], button, input, select, summary')]
        .filter(e => e.offsetParent !== null && !e.disabled && !(e.type === 'radio' && !e.checked)).map(e => e.outerHTML.slice(0, 80))""")
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    reached = set()
    for _ in range(len(controls) + 10):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.outerHTML.slice(0, 80)"))
    missed = [control for control in controls if control not in reached]
    assert missed == [], missed


def test_task_details_go_with_the_job_and_come_back_with_the_results(page, server, local_store, clip):
    url = server(local_store)
    page.goto(url)
    page.click("#task-details summary")
    page.fill("#task-fields input[name=load_kg]", "12")
    page.check("#task-fields input[name=sitting]")
    page.fill("#task-fields input[name=coupling]", "2")
    shot(page, "1-task-details")
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/start_processing") else None)
    choose_and_start(page, clip)
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    assert sent[0]["params"] == {"load_kg": 12, "sitting": True, "coupling": 2}  # only what differs from the worksheet's default
    page.click("#measurement summary")
    assumed = page.inner_text("#measurement details")
    assert "load kg: 12" in assumed and "sitting: true" in assumed and "coupling: 2" in assumed
    shot(page, "2-recorded-with-the-results")


def test_the_results_show_the_posture_pictures_and_offer_the_pdf(page, server, local_store, clip):
    url = server(local_store)
    page.goto(url)
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/start_processing") else None)
    page.uncheck("#blur-faces")
    assert page.is_checked("#overlay")  # medium, the default preset, writes the annotated video...
    page.check("input[name=quality][value=low]")
    assert not page.is_checked("#overlay")  # ...low does not
    choose_and_start(page, clip)
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    assert sent[0]["blur_faces"] is False and sent[0]["overlay"] is False  # the low preset's default
    status = api(url, "get_status", job_id=re.search(r"job=(\w+)", page.url).group(1))["job_status"]
    assert status["pictures"] and not any(picture["face_blurred"] for picture in status["pictures"])
    figures = page.locator("#pictures figure")
    assert figures.count() == len(status["pictures"])
    page.wait_for_function("[...document.querySelectorAll('#pictures img')].every(i => i.complete && i.naturalWidth > 0)")
    page.locator("#rula-card a.moment").first.click()
    target = page.evaluate("document.querySelector(':target')?.id")
    assert target and target.startswith("picture-") and page.locator(f"#{target}").is_visible()
    shot(page, "pictures")
    with page.expect_download() as download:
        page.click("#downloads button[data-artifact=pdf]")
    assert download.value.suggested_filename.endswith("-report.pdf")
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"


def test_a_file_chosen_before_the_server_answers_is_accepted_when_it_does(page, server, local_store, clip):
    url = server(local_store)
    held = []
    page.route("**/api/info", lambda route: held.append(route))  # the server's list of accepted files is slow to come
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("() => document.querySelector('#file-input') !== null")
    page.set_input_files("#file-input", str(clip))
    assert "has not said which files it accepts yet" in page.inner_text("#file-error")
    assert page.is_disabled("#start-button")
    assert held  # the page asked
    held[0].continue_()
    page.wait_for_selector("#start-button:not([disabled])")
    assert page.is_hidden("#file-error") and clip.name in page.inner_text("#file-info")
