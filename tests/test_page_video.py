"""The video in the results (issue 28, point 6), in Chromium: the annotated video where the job wrote one, else the
uploaded video with the worker's skeleton drawn over it; synced both ways with the timeline and the body-part
strips, by mouse and by keyboard, at a desk and on a phone. Screenshots go to test-artifacts/frontend/."""

from __future__ import annotations

import json
import re

import pytest

from pipeline.results import load_result
from pipeline.skeleton import SCALE, skeleton_document
from tests.browser import RESULT_TIMEOUT, accessibility_problems, analyse_to_results, api, choose_and_start, open_page, shot

pytestmark = pytest.mark.slow

CLIP_FPS = 10  # the clip fixture's frame rate: a seek lands within one of its frames
SEEKED = "(t) => new Promise((done) => { const v = document.querySelector('#video'); v.addEventListener('seeked', () => done(v.currentTime), {once: true}); v.currentTime = t; })"


def ready(page) -> None:
    """Wait until the results' video can show a frame."""
    page.wait_for_selector("#video-panel:not([hidden])")
    page.wait_for_function("document.querySelector('#video').readyState >= 2")


def slider_time(page) -> float:
    return float(page.get_attribute("#timeline", "aria-valuenow"))


def cursor_x(page, chart: str = "#timeline") -> float:
    return float(page.get_attribute(f"{chart} .video-cursor", "x1"))


def job_of(page, url: str) -> dict:
    return api(url, "get_status", job_id=re.search(r"job=(\w+)", page.url).group(1))["job_status"]


def test_the_uploaded_video_plays_with_the_skeleton_and_follows_the_charts_both_ways(page, shared_server, clip):
    url, store = shared_server
    open_page(page, url)
    analyse_to_results(page, clip, "low")  # the low preset writes no annotated video: the upload plays
    ready(page)
    status = job_of(page, url)
    assert status["video"]["source"] == "original" and "mp4" not in status["artifacts"]
    assert "/uploads/" in page.eval_on_selector("#video", "v => v.currentSrc")
    assert "as uploaded" in page.inner_text("#video-about")
    listed = next(job for job in api(url, "list_jobs", limit=50)["jobs"] if job["job_id"] == status["job_id"])
    assert "video" not in listed  # the operator's list signs no links: the video's is in its owner's status only
    assert page.get_attribute("#timeline", "role") == "slider" and page.get_attribute("#timeline", "tabindex") == "0"

    # a worst moment seeks the video there, and the cursor and the slider say so
    moment = page.locator("#rula-card a.moment").first
    when = float(moment.get_attribute("data-seek"))
    moment.click()
    page.wait_for_function(f"Math.abs(document.querySelector('#video').currentTime - {when}) < 1e-3 && !document.querySelector('#video').seeking")
    assert abs(page.evaluate("document.querySelector('#video').currentTime") - when) <= 1 / CLIP_FPS
    page.wait_for_function(f"Math.abs(Number(document.querySelector('#timeline').getAttribute('aria-valuenow')) - {when}) < 0.01")
    axis = page.evaluate("(() => { const d = document.querySelector('#timeline svg').dataset; return [+d.x0, +d.x1, +d.duration]; })()")
    assert cursor_x(page) == pytest.approx(axis[0] + when / axis[2] * (axis[1] - axis[0]), abs=0.5)
    assert page.evaluate("document.activeElement.id") == "video"  # the keyboard is on the video: Space plays it
    shot(page, "1-a-worst-moment-chosen")

    # a seek near the end works through the storage route's ranges: the time is reached and `seeked` fires
    duration = page.evaluate("document.querySelector('#video').duration")
    assert duration == pytest.approx(4.0, abs=0.15)
    reached = page.evaluate(SEEKED, duration - 0.15)
    assert reached == pytest.approx(duration - 0.15, abs=1 / CLIP_FPS)
    assert page.evaluate("(() => { const s = document.querySelector('#video').seekable; return s.length && s.end(0); })()") == pytest.approx(duration, abs=0.15)

    # a point on a body-part strip seeks there
    target = 1.25
    box = page.evaluate("""(t) => { const svg = document.querySelector('#body-parts svg'), d = svg.dataset;
        svg.scrollIntoView({block: 'end'});
        const r = svg.getBoundingClientRect();
        const x = +d.x0 + t / +d.duration * (+d.x1 - +d.x0);
        return [r.left + x * r.width / svg.viewBox.baseVal.width, r.bottom - 40 * r.height / svg.viewBox.baseVal.height]; }""", target)
    page.mouse.click(*box)
    page.wait_for_function("!document.querySelector('#video').seeking")
    assert abs(page.evaluate("document.querySelector('#video').currentTime") - target) <= 2 / CLIP_FPS

    # playing moves the cursor on both charts
    page.evaluate(SEEKED, 0.0)
    before = cursor_x(page), cursor_x(page, "#body-parts")
    page.evaluate("(() => { const v = document.querySelector('#video'); v.muted = true; return v.play(); })()")
    page.wait_for_function("document.querySelector('#video').currentTime > 1.2")
    page.evaluate("document.querySelector('#video').pause()")
    assert cursor_x(page) > before[0] + 50 and cursor_x(page, "#body-parts") > before[1] + 50
    assert slider_time(page) >= 1.0

    # the skeleton is drawn over the picture where the worker is (skeleton.json, as the pose model found them)
    result = load_result(store.get(f"results/{status['job_id']}/result.pkl").body)
    document = json.loads(store.get(f"results/{status['job_id']}/skeleton.json").body)
    assert document == json.loads(json.dumps(skeleton_document(result)))
    assert len(document["frames"]) == len(result.timestamps) and document["scale"] == SCALE
    assert_points_are_the_workers(document, result)
    shot(page, "2-after-playing")


def assert_points_are_the_workers(document: dict, result) -> None:
    """Each point kept is the worker's, in thousandths of the analysed frame; a point left out was not seen with the
    pictures' confidence; the neck lies between the shoulders."""
    from pipeline.evidence import MIN_CONFIDENCE
    from pipeline.presets import analysis_size

    width, height = analysis_size(result.video.width, result.video.height)
    names = document["points"]
    assert names[-1] == "neck" and {"nose", "left_shoulder", "right_hip", "left_ankle"} <= set(names)
    kept = 0
    for i, points in enumerate(document["frames"]):
        if points is None:
            assert not result.detected[i]
            continue
        for k, name in enumerate(names[:-1]):
            x, y, confidence = result.keypoints[i][result.keypoint_names.index(name)]
            if points[2 * k] is None:
                assert not confidence >= MIN_CONFIDENCE  # NaN or too unsure
                continue
            kept += 1
            assert (points[2 * k], points[2 * k + 1]) == (round(SCALE * x / width), round(SCALE * y / height))
        left, right = (names.index(side) for side in ("left_shoulder", "right_shoulder"))
        if points[2 * left] is not None and points[2 * right] is not None:
            assert abs(points[-2] - (points[2 * left] + points[2 * right]) / 2) <= 0.5
    assert kept > 0


def test_a_skeleton_is_drawn_where_its_points_are(page, shared_server, clip):
    """A known skeleton, served in place of the job's: its lines lie where its points say, on the picture shown."""
    url, _ = shared_server
    known = {"format": "ergo-skeleton", "version": 1, "scale": SCALE, "points": ["left_hip", "left_shoulder", "neck"],
             "segments": [[0, 1, "trunk"]], "times": [], "frames": []}

    def skeleton(route):
        times = [round(i * 0.5, 3) for i in range(8)]  # the clip at the low preset: 2 frames a second
        route.fulfill(json={**known, "times": times, "frames": [[500, 800, 500, 200, None, None]] * len(times)})

    page.route("**/skeleton.json*", skeleton)
    open_page(page, url)
    analyse_to_results(page, clip, "low")
    ready(page)
    page.evaluate(SEEKED, 1.0)
    pixels = page.evaluate("""(() => { const c = document.querySelector('#skeleton'), pen = c.getContext('2d');
        const alpha = (x, y) => pen.getImageData(Math.round(x * c.width), Math.round(y * c.height), 1, 1).data[3];
        const v = document.querySelector('#video'), s = Math.min(c.width / v.videoWidth, c.height / v.videoHeight);
        const [w, h] = [v.videoWidth * s / c.width, v.videoHeight * s / c.height], [l, t] = [(1 - w) / 2, (1 - h) / 2];
        return {middle: alpha(l + 0.5 * w, t + 0.5 * h), beside: alpha(l + 0.2 * w, t + 0.5 * h), above: alpha(l + 0.5 * w, t + 0.1 * h)}; })()""")
    assert pixels["middle"] > 200 and pixels["beside"] == 0 and pixels["above"] == 0, pixels
    shot(page, "skeleton-drawn")


def test_the_annotated_video_plays_where_the_job_wrote_one_and_the_timeline_works_by_keyboard(page, shared_server, clip):
    url, _ = shared_server
    open_page(page, url)
    page.check("input[name=quality][value=low]")
    page.check("#overlay")  # asked for at the low preset: the job writes overlay.mp4
    choose_and_start(page, clip, "low")
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    page.wait_for_selector("#timeline svg rect.seg")
    ready(page)
    status = job_of(page, url)
    assert status["video"]["source"] == "overlay" and "overlay.mp4" in page.eval_on_selector("#video", "v => v.currentSrc")
    assert status["video"]["skeleton_url"] is None  # the skeleton is in the picture already
    assert "annotated video" in page.inner_text("#video-about")
    count = int(page.get_attribute("#timeline svg", "data-frames"))
    duration = page.evaluate("document.querySelector('#video').duration")
    assert duration == pytest.approx(count / 2, abs=0.05)  # the analysed frames at the analysed rate (low: 2 a second)

    # a worst moment: the overlay shows that analysed frame (its place in the overlay: frame n of count)
    moment = page.locator("#reba-card a.moment").first
    when = float(moment.get_attribute("data-seek"))
    moment.click()
    page.wait_for_function(f"Math.abs(Number(document.querySelector('#timeline').getAttribute('aria-valuenow')) - {when}) < 0.01")
    frame = round(page.evaluate("document.querySelector('#video').currentTime") / duration * count - 0.5)
    assert frame == round(when * 2)

    # the keyboard: the timeline takes the focus; the arrows step one analysed frame, Home and End go to the ends
    page.focus("#timeline")
    page.keyboard.press("Home")
    page.wait_for_function("Number(document.querySelector('#timeline').getAttribute('aria-valuenow')) === 0")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("Number(document.querySelector('#timeline').getAttribute('aria-valuenow')) === 0.5")
    page.keyboard.press("End")
    last = (count - 1) / 2
    page.wait_for_function(f"Number(document.querySelector('#timeline').getAttribute('aria-valuenow')) === {last}")
    assert page.evaluate("document.querySelector('#video').currentTime") == pytest.approx((count - 0.5) / count * duration, abs=0.01)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"Number(document.querySelector('#timeline').getAttribute('aria-valuenow')) === {last - 0.5}")
    assert re.fullmatch(r"\d:\d\d\.\d: RULA (\d+|not scored), REBA (\d+|not scored)", page.get_attribute("#timeline", "aria-valuetext"))
    page.keyboard.press("Space")
    page.wait_for_function("!document.querySelector('#video').paused || document.querySelector('#video').ended")
    page.evaluate("document.querySelector('#video').pause()")
    shot(page, "annotated-video-by-keyboard")
    assert accessibility_problems(page) == []

    phone_context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = phone_context.new_page()
    phone.shots = page.shots
    open_page(phone, page.url)
    phone.wait_for_selector("#timeline svg rect.seg")
    ready(phone)
    layout = phone.evaluate("""(() => { const box = (s) => document.querySelector(s).getBoundingClientRect();
        return {video: box('#video').width, left: box('#video').left, page: window.innerWidth,
                below: box('#timeline').top >= box('#video').bottom, wide: document.documentElement.scrollWidth}; })()""")
    assert layout["video"] <= layout["page"] - 20 and layout["left"] >= 0, layout  # the video fits the width
    assert layout["below"] and layout["wide"] <= layout["page"], layout  # the strips under it; nothing wider than the phone
    phone.locator("#rula-card a.moment").first.click()
    phone.wait_for_function("!document.querySelector('#video').seeking && document.querySelector('#video').currentTime > 0")
    shot(phone, "annotated-video-390")
    assert accessibility_problems(phone) == []
    phone_context.close()
