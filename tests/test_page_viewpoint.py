"""The results page says from where the worker was filmed and how uncertain the camera's tilt is (issue 23), in
Chromium.  The job is a real BlazePose analysis of the demo clip (the session's ``analysed`` fixture), served by
`ergo serve` from its store; the viewpoint's words are the job view's (:func:`pipeline.viewpoint.viewpoint_words`,
the PDF's), and the tilt's uncertainty is shown as the status gives it, here rewritten to a low-confidence estimate
on its way to the page as the other page tests inject results."""

from __future__ import annotations

import pytest

from tests.browser import accessibility_problems, api, open_page, shot
from tests.helpers import serve

pytestmark = pytest.mark.slow

#: A camera angle estimated with low confidence, as ``inputs.camera_tilt`` records it: the trunk's scores are ranged
#: over its uncertainty (pipeline/angles.py).
DOUBTFUL = {"pitch": 8.0, "roll": -2.0, "method": "stance", "confidence": "low", "frames": 6, "spread": 14.0, "uncertainty": 12.0}


@pytest.fixture(scope="module")
def served(analysed, tmp_path_factory):
    """`ergo serve` on the store holding the analysed demo clip: (base URL, its job id)."""
    store, doc, _ = analysed
    process, url = serve(store, tmp_path_factory.mktemp("viewpoint-page"))
    yield url, doc.job_id
    process.terminate()
    process.wait(timeout=30)


def measurement_lines(page) -> dict[str, str]:
    """The "how it was measured" part's lines, label to words."""
    page.wait_for_selector("#measurement p")
    lines = [text.split(": ", 1) for text in page.locator("#measurement p").all_inner_texts()]
    return {label: words for label, words in lines}


def shot_of_part(page, name: str) -> None:
    """A screenshot of the "how it was measured" part alone (the whole page's is long), for the closing note."""
    page.locator("#measurement").screenshot(path=str(page.shots / f"{name}.png"))


def test_the_viewpoint_is_said_in_the_reports_words_beside_the_camera_angle(page, served):
    url, job_id = served
    status = api(url, "get_status", job_id=job_id)["job_status"]
    words, uncertainty = status["viewpoint"], status["inputs"]["camera_tilt"]["uncertainty"]
    assert words.startswith("Filmed mostly from")  # the demo clip has 3D points: the view says from where
    assert uncertainty > 0  # and its camera angle could not be estimated with confidence: the trunk is ranged
    open_page(page, f"{url}/?job={job_id}")
    page.wait_for_selector("#results-section:not([hidden])")
    lines = measurement_lines(page)
    shot(page, "1-viewpoint")
    shot_of_part(page, "1-viewpoint-part")
    assert lines["Viewpoint"] == words
    labels = list(lines)
    assert labels.index("Viewpoint") == labels.index("Camera angle") + 1  # beside the camera's angle
    assert f"Uncertain by ±{uncertainty:.0f}°: the trunk's scores are ranged over it." in lines["Camera angle"]
    assert not accessibility_problems(page)


def test_a_tilt_of_low_confidence_shows_its_degrees_one_of_high_none_and_no_viewpoint_no_line(page, served):
    url, job_id = served
    tilt = {"now": DOUBTFUL}  # what the next status answer carries

    def doubtful(route):
        response = route.fetch()
        body = response.json()
        status = body["job_status"]
        if status.get("inputs"):
            status["inputs"]["camera_tilt"] = tilt["now"]
            status["viewpoint"] = None  # as for a model without 3D points, or an older result
        route.fulfill(response=response, json=body)

    page.route("**/api/get_status", doubtful)
    open_page(page, f"{url}/?job={job_id}")
    page.wait_for_selector("#results-section:not([hidden])")
    lines = measurement_lines(page)
    shot_of_part(page, "2-uncertain-tilt-part")
    assert "low confidence" in lines["Camera angle"]
    assert "Uncertain by ±12°: the trunk's scores are ranged over it." in lines["Camera angle"]
    assert "Viewpoint" not in lines
    tilt["now"] = {**DOUBTFUL, "confidence": "high", "spread": 3.0, "frames": 40, "uncertainty": 0.0}
    open_page(page, f"{url}/?job={job_id}")
    page.wait_for_selector("#results-section:not([hidden])")
    camera = measurement_lines(page)["Camera angle"]
    assert "high confidence" in camera and "Uncertain" not in camera
