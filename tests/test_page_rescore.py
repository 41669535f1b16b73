"""The page's re-score (issue 28, item 3): from a result, "Change task details and re-score" opens the task-details
form filled with the job's own details, starts rescore_job and follows the new job as an upload's; the new result
says which job it was re-scored from, the original which re-scores it has, each a link to the other."""

from __future__ import annotations

import re

import pytest

from tests.browser import RESULT_TIMEOUT, accessibility_problems, api, choose_and_start, open_page, shot

pytestmark = pytest.mark.slow


def shown_job(page) -> str:
    return re.search(r"job=(\w+)", page.url).group(1)


def results_of(page, job_id: str) -> None:
    """Wait until the results shown are job ``job_id``'s."""
    page.wait_for_function("id => new URLSearchParams(location.search).get('job') === id", arg=job_id, timeout=RESULT_TIMEOUT)
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    page.wait_for_function("id => document.querySelector('#results-meta').textContent.includes(id)", arg=job_id, timeout=RESULT_TIMEOUT)


def test_change_task_details_and_rescore_follows_the_new_job_and_links_both(page, shared_server, clip):
    url, _ = shared_server
    open_page(page, url)
    page.click("summary:has-text('Task details')")
    page.fill("#task-coupling", "1")  # a detail given with the upload: the re-score form starts from it
    choose_and_start(page, clip)
    page.wait_for_selector("#results-section:not([hidden])", timeout=RESULT_TIMEOUT)
    original = shown_job(page)
    assert page.is_visible("#rescore-open") and not page.is_visible("#rescore-form") and not page.is_visible("#rescore-links")

    page.click("#rescore-open")
    assert page.get_attribute("#rescore-open", "aria-expanded") == "true"
    assert page.input_value("#rescore-coupling") == "1", "filled with the job's own details"
    assert page.input_value("#rescore-load_kg") == "0" and page.input_value("#rescore-start") == ""
    page.fill("#rescore-start", "3")
    page.fill("#rescore-end", "1")
    page.click("#rescore-form button[type=submit]")
    assert "must end after it starts" in page.inner_text("#rescore-error"), "refused on the page, nothing started"
    assert api(url, "get_status", job_id=original)["job_status"]["rescores"] == []
    page.fill("#rescore-load_kg", "12")
    page.fill("#rescore-start", "0.5")
    page.fill("#rescore-end", "3")
    shot(page, "1-rescore-form")
    assert accessibility_problems(page) == []
    page.click("#rescore-form button[type=submit]")

    page.wait_for_function("id => new URLSearchParams(location.search).get('job') !== id", arg=original, timeout=RESULT_TIMEOUT)
    new = shown_job(page)
    results_of(page, new)
    links = page.inner_text("#rescore-links")
    assert links == f"Re-scored from {original}", links
    note = page.inner_text("#rescore-note")
    assert "annotated video" in note and original in note, note
    assert "0.5 s – 3.0 s" in page.inner_text("#results-range"), "the part of the video, as every result says it"
    status = api(url, "get_status", job_id=new)["job_status"]
    assert status["rescored_from"] == original and status["task_params"] == {"coupling": 1, "load_kg": 12}
    assert status["time_range"]["start_s"] == 0.5 and status["time_range"]["end_s"] == 3
    assert "mp4" not in status["artifacts"] and "pdf" in status["artifacts"]
    shot(page, "2-rescored")

    page.click("#rescore-open")  # the new job's form starts from its own details
    assert page.input_value("#rescore-load_kg") == "12" and page.input_value("#rescore-coupling") == "1"
    page.click("#rescore-cancel")
    assert not page.is_visible("#rescore-form")

    page.click(f"#rescore-links a:has-text('{original}')")
    results_of(page, original)
    assert page.inner_text("#rescore-links") == f"Re-scored as {new}"
    assert not page.is_visible("#rescore-note")
    shot(page, "3-original-links-its-rescore")
    assert accessibility_problems(page) == []

    page.set_viewport_size({"width": 390, "height": 844})  # on a phone, the form fits the screen and works from the keyboard
    page.focus("#rescore-open")
    page.keyboard.press("Enter")
    assert page.is_visible("#rescore-form") and page.evaluate("document.activeElement.id") == "rescore-wrist_flexion"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "4-rescore-form-on-a-phone")
