"""Loose ends of issue 28 on the page, in Chromium: an upload resumed after a reload keeps the part of the video chosen
for it; the progress view and the operator's list say which part a job analyses; a job that is not assessable plays
its uploaded video under the verdict, so that the assessor sees why (the skeleton in grey where a person was found,
none where no one was). Screenshots go to test-artifacts/frontend/."""

from __future__ import annotations

import json

import pytest

from tests.browser import accessibility_problems, analyse_to_results, choose_and_start, open_page, queued_job, shot
from tests.helpers import mp4_lookalike

pytestmark = pytest.mark.slow

NOT_ASSESSABLE = {"status": "not assessable", "reasons": ["The worker is too small in the picture to measure."],
                  "advice": ["Film closer: the worker should fill at least a third of the picture's height."]}
#: Pixels the skeleton covers on the canvas, and how far from grey the most coloured of them is (0-255).
CANVAS_INK = """() => { const c = document.querySelector('#skeleton'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let inked = 0, colour = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200) { inked++; colour = Math.max(colour, Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2])); }
    return [inked, colour]; }"""


def test_a_resumed_upload_keeps_its_part_of_the_video_and_progress_and_the_operator_list_say_it(page, server, local_store, tmp_path):
    big = tmp_path / "long shift.mp4"
    big.write_bytes(mp4_lookalike(14 * 1024 * 1024))  # 3 parts of 5 MiB; a file this browser cannot decode: no strip
    other = tmp_path / "another.mp4"
    other.write_bytes(mp4_lookalike(4000))
    url = server(local_store, ERGO_UPLOAD_PART_BYTES=str(5 * 1024 * 1024), ERGO_SERVE_WORKERS="0")  # jobs stay queued
    open_page(page, url)
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                      "uploadThroughput": 1024 * 1024})  # 1 MiB/s
    page.set_input_files("#file-input", str(big))
    page.wait_for_selector("#range-strip[data-failed]", state="attached")  # typed, then: the strip was given up
    page.fill("#range-start", "12")
    page.fill("#range-end", "100")
    choose_and_start(page, big)
    page.wait_for_function("Number((/^([\\d.]+) MB of/.exec(document.querySelector('#upload-text').innerText) || [0, 0])[1]) >= 2",
                           timeout=60_000)
    page.reload()
    page.context.new_cdp_session(page)
    page.wait_for_selector("#resume-hint:not([hidden])")

    page.set_input_files("#file-input", str(other))  # another file: the whole video, as for any new file
    assert page.input_value("#range-start") == "" and page.input_value("#range-end") == ""
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/start_processing") else None)
    page.set_input_files("#file-input", str(big))  # the file of the upload that stopped: its part comes back
    assert page.input_value("#range-start") == "12" and page.input_value("#range-end") == "100"
    assert page.inner_text("#range-chosen") == "Analysed: 0:12.0 to 1:40.0."
    shot(page, "1-resumed-upload-keeps-its-range")
    page.click("#start-button")
    page.wait_for_selector("#job-progress:not([hidden])", timeout=60_000)
    assert sent[0]["start_s"] == 12 and sent[0]["end_s"] == 100

    page.wait_for_selector("#job-range:not([hidden])")
    assert page.inner_text("#job-range") == "Part of the video: 0:12–1:40 of the video."
    shot(page, "2-progress-says-the-part")
    page.click("#operator-toggle")  # a server without tokens: every caller is the operator
    row = page.locator("#jobs-table tbody tr", has_text="shift")
    assert row.locator("small.job-range").inner_text() == "0:12–1:40 of the video"
    shot(page, "3-operator-list-says-the-part")
    assert accessibility_problems(page) == []

    whole = queued_job(url, local_store)  # the whole video
    open_page(page, f"{url}/?job={whole}")
    page.wait_for_selector("#job-progress:not([hidden])")
    page.wait_for_function("document.querySelector('#job-detail').innerText !== ''")  # its status has been shown
    assert page.is_hidden("#job-range")  # the whole video: nothing to say


def test_a_video_that_cannot_be_assessed_plays_under_its_verdict_with_a_grey_skeleton_where_one_was_found(page, shared_server, clip):
    url, _ = shared_server
    poses = {"found": True}

    def not_assessable(route):  # the real job's status, its verdict rewritten (the server's video choice untouched)
        body = route.fetch().json()
        body["job_status"]["summary"]["verdict"] = NOT_ASSESSABLE
        route.fulfill(json=body)

    def skeleton(route):  # the real skeleton.json, with a person in every frame, or in none
        document = route.fetch().json()
        points = [value for k in range(len(document["points"])) for value in (300 + 40 * (k % 5), 150 + 60 * k)]
        document["frames"] = [points if poses["found"] else None for _ in document["frames"]]
        route.fulfill(json=document)

    open_page(page, url)
    analyse_to_results(page, clip, "low")  # low writes no annotated video; the server offers the upload anyway
    page.route("**/api/get_status", not_assessable)
    page.route("**/skeleton.json*", skeleton)
    page.reload()
    page.wait_for_selector("#verdict[data-status='not assessable']")
    page.wait_for_selector("#video-panel:not([hidden])")
    page.wait_for_function("document.querySelector('#video').readyState >= 2")
    assert page.is_hidden("#assessment") and page.is_hidden("#rula-card")
    assert page.evaluate("document.querySelector('#video-panel').closest('#assessment') === null")  # under the verdict
    assert page.evaluate("document.querySelector('#video-panel').nextElementSibling.id") == "what-to-change"
    assert "/uploads/" in page.eval_on_selector("#video", "v => v.currentSrc")
    assert "to see why it could not be assessed" in page.inner_text("#video-about")
    assert page.get_attribute("#timeline", "role") == "img"  # no slider over charts that are not there
    for word in ("RULA", "REBA", "Worst moments"):
        assert word not in page.inner_text("#results-section"), word
    page.evaluate("(() => { const v = document.querySelector('#video'); v.currentTime = 1.0; })()")
    page.wait_for_function(f"({CANVAS_INK})()[0] > 100")
    inked, colour = page.evaluate(f"({CANVAS_INK})()")
    assert colour < 60, colour  # grey (#78909c: 36) and its dark edge: no score's colour
    shot(page, "4-not-assessable-plays-the-upload")
    assert accessibility_problems(page) == []

    poses["found"] = False  # no one in any frame: the video alone
    page.reload()
    page.wait_for_selector("#video-panel:not([hidden])")
    page.wait_for_function("document.querySelector('#video').readyState >= 2")
    page.evaluate("(() => { const v = document.querySelector('#video'); v.currentTime = 1.0; })()")
    page.wait_for_function("!document.querySelector('#video').seeking")
    page.wait_for_timeout(300)  # a frame drawn, if any were
    assert page.evaluate(f"({CANVAS_INK})()")[0] == 0
    shot(page, "5-no-one-found-no-skeleton")

    page.unroute("**/api/get_status")  # the same job as it is: the video goes back above the charts it follows
    page.reload()
    page.wait_for_selector("#timeline svg rect.seg")
    page.wait_for_selector("#video-panel:not([hidden])")
    assert page.evaluate("document.querySelector('#video-panel').closest('#assessment') !== null")
    assert page.evaluate("document.querySelector('#video-panel').nextElementSibling.textContent") == "Risk over time"
