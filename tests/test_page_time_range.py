"""The time range on the page, in Chromium: a strip of pictures of the chosen file made in the browser, a start and an
end under it (sliders by keyboard, or numbers), the span sent with start_processing and said with the results; a video
the browser cannot decode gets a message and the numbers. Screenshots go to test-artifacts/frontend/."""

from __future__ import annotations

import json

import pytest

from pipeline.synthetic import make_video
from tests.browser import ARTIFACTS, RESULT_TIMEOUT, accessibility_problems, open_page, shot

pytestmark = pytest.mark.slow


def sent_starts(page) -> list[dict]:
    """The bodies of the page's start_processing requests, as they are made."""
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/start_processing") else None)
    return sent


def strip_drawn(page) -> None:
    page.wait_for_selector("#range-strip[data-drawn='8']")


def choose(page, url: str, video) -> list[dict]:
    """Open the page and choose ``video``; the start_processing requests it will make."""
    open_page(page, url)
    sent = sent_starts(page)
    page.set_input_files("#file-input", str(video))
    return sent


def test_a_part_chosen_under_the_strip_by_keyboard_is_analysed_and_said_with_the_results(page, shared_server, clip):
    sent = choose(page, shared_server[0], clip)
    strip_drawn(page)
    # pictures of the video, not an empty canvas: the synthetic clip's frames differ in colour across the strip
    spread = page.evaluate("""() => { const c = document.querySelector('#range-strip'); const d = c.getContext('2d')
        .getImageData(0, 0, c.width, c.height).data; let lo = 255, hi = 0;
        for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i + 1]); hi = Math.max(hi, d[i + 1]); } return hi - lo; }""")
    assert spread > 30
    assert page.inner_text("#range-chosen") == "The whole video of 0:04 is analysed."
    shot(page, "1-strip-whole-video")
    page.focus("#range-start-slider")
    for _ in range(10):
        page.keyboard.press("ArrowRight")  # 0.1 s a step for a 4 s clip
    page.focus("#range-end-slider")
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    assert page.input_value("#range-start") == "1" and page.input_value("#range-end") == "3"
    assert page.get_attribute("#range-start-slider", "aria-valuetext") == "0:01.0"
    assert page.inner_text("#range-chosen") == "Analysed: 0:01.0 to 0:03.0 of 0:04."
    box, span = page.locator("#range-strip").bounding_box(), page.locator("#range-span").bounding_box()
    assert span["x"] - box["x"] == pytest.approx(box["width"] / 4, abs=2) and span["width"] == pytest.approx(box["width"] / 2, abs=2)
    assert accessibility_problems(page) == []
    shot(page, "2-range-chosen")
    page.check("input[name=quality][value=low]")
    page.click("#start-button")
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    assert sent[0]["start_s"] == 1 and sent[0]["end_s"] == 3
    assert page.inner_text("#results-range") == "Part of the video: analysed 1.0 s – 3.0 s of 4.0 s."
    shot(page, "3-results-say-the-part")


def test_the_whole_video_sends_no_range_and_a_backwards_one_is_refused_before_the_upload(page, shared_server, clip):
    sent = choose(page, shared_server[0], clip)
    strip_drawn(page)
    page.fill("#range-start", "3")
    page.fill("#range-end", "2")
    assert page.inner_text("#range-error") == "The end of the part to analyse must come after its start."
    page.click("#start-button")
    assert page.evaluate("document.activeElement.id") == "range-start" and page.is_visible("#upload-section")
    shot(page, "backwards-refused")
    page.click("#range-whole")
    assert not page.is_visible("#range-error") and page.inner_text("#range-chosen").startswith("The whole video")
    page.check("input[name=quality][value=low]")
    page.click("#start-button")
    page.wait_for_selector("#job-progress:not([hidden])")
    page.wait_for_function("window.location.search.includes('job=')")
    assert "start_s" not in sent[0] and "end_s" not in sent[0]


def test_at_phone_width_the_strip_and_the_controls_fit(browser, shared_server, clip):
    url, _ = shared_server
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    page.shots = ARTIFACTS / "test_time_range_at_phone_width"
    page.shots.mkdir(parents=True, exist_ok=True)
    open_page(page, url)
    page.set_input_files("#file-input", str(clip))
    strip_drawn(page)
    page.fill("#range-end", "2.5")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for control in ("#range-strip", "#range-start-slider", "#range-end-slider", "#range-start", "#range-end", "#range-whole"):
        box = page.locator(control).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, control
    shot(page, "phone-390")
    context.close()


def test_a_video_the_browser_cannot_decode_gets_a_message_and_the_times_can_still_be_typed(page, shared_server, tmp_path):
    url, _ = shared_server
    # MPEG-4 Part 2: the server reads it (PyAV); Chromium's decoders do not
    video = make_video(tmp_path / "old-camera.mp4", frames=40, width=96, height=64, fps=10, codec="mpeg4")
    sent = choose(page, url, video)
    page.wait_for_selector("#range-strip[data-failed]", state="attached")  # the strip itself stays hidden
    assert "cannot show pictures of this video" in page.inner_text("#range-note")
    assert not page.is_visible("#range-visual") and page.is_visible("#range-start")
    page.fill("#range-end", "2")
    assert page.inner_text("#range-chosen") == "Analysed: 0:00.0 to 0:02.0."
    shot(page, "no-strip-typed-range")
    page.check("input[name=quality][value=low]")
    page.click("#start-button")
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    assert sent[0]["end_s"] == 2 and "start_s" not in sent[0]
    assert page.inner_text("#results-range") == "Part of the video: analysed 0.0 s – 2.0 s of 4.0 s."
