"""The page tells the engineer whether the video could be assessed (issue 22), what a job costs and how long it has
left while it runs, and names the result files as the server does (issue 25), in Chromium.

The verdicts are the server's answers rewritten on their way to the page (one real analysis, then each verdict on
a reload), as the other page tests inject results; a running job is a queued one whose status says it runs."""

from __future__ import annotations

import math
import re

import pytest

from pipeline.advice import ADVICE, SOURCES
from tests.browser import accessibility_problems, analyse_to_results, api, open_page, queued_job, shot

pytestmark = pytest.mark.slow

PARTLY = {"status": "partly assessable", "reasons": ["The worker is in view in only 42% of the video."],
          "advice": ["Keep the worker in the picture for the whole task."]}
NOT_ASSESSABLE = {"status": "not assessable", "reasons": ["No person was found in the video."],
                  "advice": ["Film the worker at work, the whole body in the picture, from the side."]}
STANCE = {"pitch": 12.4, "roll": -3.2, "method": "stance", "confidence": "high", "frames": 40, "spread": 4.1}
#: A body part that drives the result, as the summary carries it (pipeline/advice.py's table: issue 28, point 8).
REACH = next(advice for advice in ADVICE if advice.part == "upper_arm")
FINDING = {"part": "upper_arm", "method": "rula", "min_score": REACH.min_score, "share": 0.4,
           "why": f"Upper arm {REACH.band}: 40% of the exactly scored time (1.6 s).", "recommendation": REACH.recommendation,
           "sources": [{"name": SOURCES[key][0], "citation": SOURCES[key][1]} for key in REACH.sources]}
LABELS = {"pdf": "Report <b>PDF</b>", "csv": "Frames table", "json": "Summary data", "xlsx": "Workbook", "pkl": "Everything",
          "mp4": "Annotated video", "skeleton": "Skeleton points"}


def test_the_verdict_heads_the_results_and_a_video_that_cannot_be_assessed_shows_no_scores(page, shared_server, clip):
    url, _ = shared_server
    answer = {"verdict": PARTLY, "with_person": 6, "rejected": 2, "tilt": STANCE}  # what the next status answer carries

    def with_verdict(route):
        response = route.fetch()
        body = response.json()
        status = body["job_status"]
        if status.get("summary"):
            summary = status["summary"]
            summary.update(verdict=answer["verdict"], frames_with_person=answer["with_person"], frames_rejected=answer["rejected"],
                           what_to_change=[FINDING])
            status["inputs"]["camera_tilt"] = answer["tilt"]
        route.fulfill(response=response, json=body)

    def labelled(route):  # the server's names of its files, as another deployment may give them
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "artifact_labels": LABELS})

    page.route("**/api/get_status", with_verdict)
    page.route("**/api/info", labelled)
    open_page(page, url)
    analyse_to_results(page, clip)
    shot(page, "1-partly-assessable")
    verdict = page.inner_text("#verdict")
    assert "Verdict: partly assessable" in verdict
    assert PARTLY["reasons"][0] in verdict and PARTLY["advice"][0] in verdict
    assert page.is_visible("#rula-card") and page.is_visible("#reba-card") and page.is_visible("#timeline svg")
    advice = page.inner_text("#what-to-change")  # under the scores: the part, why, what to change, its sources
    assert advice.startswith("What to change") and FINDING["why"] in advice and REACH.recommendation in advice
    assert page.locator("#what-to-change cite", has_text=SOURCES["iso11226"][0]).get_attribute("title") == SOURCES["iso11226"][1]
    # the worker's share counts the accepted frames only: 6 of the 8, the 2 rejected as not a person said apart
    detection = page.inner_text("#detection-card")
    assert "75% of frames show the worker (6 of 8)" in detection, detection
    assert "Not counted: 2 frames where the pose found was rejected as not a person's" in detection
    camera = page.locator("#measurement p", has_text="Camera angle").inner_text()
    assert camera.startswith("Camera angle: looking 12° down, rolled 3° (the vertical leans towards the picture's right); "
                             "estimated from the worker's stance in 40 frames that agree within 4° (high confidence)"), camera
    job_id = re.search(r"job=(\w+)", page.url).group(1)
    status = api(url, "get_status", job_id=job_id)["job_status"]
    buttons = page.locator("#downloads button")
    offered = [name for name in LABELS if name in status["artifacts"]]  # in the order /api/info lists them
    assert buttons.evaluate_all("bs => bs.map(b => b.dataset.artifact)") == offered
    assert buttons.all_inner_texts() == [LABELS[name] for name in offered]  # text from the server stays text
    assert page.locator("#downloads b").count() == 0
    cost = status["cost"]
    assert cost["gpu_seconds"] > 0 and cost["price_per_second"] > 0
    minutes, seconds = divmod(math.floor(cost["gpu_seconds"] + 0.5), 60)  # as the page rounds
    price = "under $0.01" if cost["estimated_usd"] < 0.01 else f"about ${cost['estimated_usd']:.2f}"
    assert page.inner_text("#results-cost") == f"The analysis took {minutes}:{seconds:02d} of worker time ({price})."
    with page.expect_download() as download:
        page.click("#downloads button[data-artifact=csv]")
    assert download.value.suggested_filename.endswith("frames.csv")

    answer.update(verdict=NOT_ASSESSABLE, with_person=0, rejected=3, tilt={**STANCE, "method": "none", "confidence": "none"})
    page.reload()
    page.wait_for_selector("#verdict:not([hidden])")
    shot(page, "2-not-assessable")
    verdict = page.inner_text("#verdict")
    assert "Verdict: not assessable" in verdict and NOT_ASSESSABLE["reasons"][0] in verdict and NOT_ASSESSABLE["advice"][0] in verdict
    # no score cards and no risk levels: only the verdict, and why (what the frames showed)
    assert page.is_hidden("#rula-card") and page.is_hidden("#reba-card") and page.is_hidden("#assessment")
    assert page.is_hidden("#what-to-change")  # nothing to change where nothing could be assessed, whatever the status says
    assert page.locator(".levels:visible, #timeline svg:visible, #pictures img:visible").count() == 0
    shown = page.inner_text("#results-section")
    for word in ("RULA", "REBA", "max ·", "Worst moments", "acceptable", "Risk over time"):
        assert word not in shown, (word, shown)
    assert "0% of frames show the worker (0 of 8)" in page.inner_text("#detection-card")
    assert page.is_visible("#downloads button[data-artifact=pdf]")  # the report says why, on its first page
    assert accessibility_problems(page) == []

    answer.update(verdict=PARTLY, with_person=8, rejected=0, tilt={**STANCE, "method": "scene+stance", "lines": 32})
    page.reload()
    page.wait_for_selector("#verdict:not([hidden])")
    camera = page.locator("#measurement p", has_text="Camera angle").inner_text()
    assert "estimated from 32 upright edges in the scene (the roll) and from them and the worker's stance (the tilt down) " \
           "(high confidence)" in camera, camera

    answer.update(verdict=None, with_person=8, rejected=0, tilt=None)  # a result made before verdicts: the scores as they were, no camera line
    page.reload()
    page.wait_for_selector("#timeline svg rect.seg")
    assert page.is_hidden("#verdict") and page.is_visible("#rula-card")
    assert page.locator("#measurement p", has_text="Camera angle").count() == 0


def test_a_running_job_shows_the_time_left_the_worker_estimates_and_what_it_costs(page, server, local_store):
    url = server(local_store, ERGO_SERVE_WORKERS="0")
    job_id = queued_job(url, local_store)
    answer = {"eta_s": 125.0, "quiet_s": 5, "cost": {"gpu_seconds": 42.0, "price_per_second": 0.01, "estimated_usd": 0.42}}

    def running(route):  # the server's answer, as a worker's own report would make it
        response = route.fetch()
        body = response.json()
        body["job_status"].update(status="processing", state="PROGRESS", stage="analysing poses", stalled=False, progress=30.0,
                                  frames_done=12, frames_total=40, **answer)
        route.fulfill(response=response, json=body)

    def shows(selector: str, words: str) -> None:
        page.wait_for_function("([selector, words]) => document.querySelector(selector).innerText.includes(words)",
                               arg=[selector, words], timeout=20_000)

    page.route("**/api/get_status", running)
    open_page(page, f"{url}/?job={job_id}")
    shows("#job-detail", "about 2:00 left")  # the worker's 125 s, less the 5 s since it said so
    assert page.inner_text("#job-detail").startswith("30% · 12 of 40 frames · ")
    assert page.inner_text("#job-cost") == "So far: 0:42 of worker time (about $0.42)."
    shot(page, "running-with-eta-and-cost")
    answer.update(eta_s=None, cost={"gpu_seconds": 50.0, "price_per_second": 0.0, "estimated_usd": 0.0})
    shows("#job-detail", "estimating time left")  # no estimate from the worker yet: none made up
    assert page.inner_text("#job-cost") == "So far: 0:50 of worker time."  # no price where the server has none
    answer.update(eta_s=3.0)
    shows("#job-detail", "finishing")
