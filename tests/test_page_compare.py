"""Before and after in the page (issue 28, item 5), in Chromium: ``?compare=BEFORE,AFTER`` shows the two analyses side
by side (the headline scores with their levels in colour and words, time in each band with the difference, the
verdicts) and downloads the comparison PDF; on a phone the two stack.  The jobs are real analyses (the demo video
before and after its load was taken away, and a clip without a person), served by `ergo serve` from their store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, accessibility_problems, api, open_page, shot
from tests.helpers import serve
from tests.test_comparison import analysed_jobs

pytestmark = pytest.mark.slow

#: The page's level colours (frontend/charts.js), as the browser reports a border's colour.
LEVEL_RGB = {"rula": {1: "rgb(46, 125, 50)", 2: "rgb(158, 124, 0)", 3: "rgb(211, 84, 0)", 4: "rgb(179, 38, 30)"},
             "reba": {0: "rgb(93, 138, 168)", 1: "rgb(46, 125, 50)", 2: "rgb(158, 124, 0)", 3: "rgb(211, 84, 0)",
                      4: "rgb(179, 38, 30)"}}


@pytest.fixture(scope="module")
def served(pose_models, tmp_path_factory):
    """`ergo serve` on a store holding the analysed jobs: (base URL, job ids by name)."""
    folder = tmp_path_factory.mktemp("compare-page")
    store, jobs = analysed_jobs(folder)
    process, url = serve(store, folder)
    yield url, jobs
    process.terminate()
    process.wait(timeout=30)


def open_comparison(page, url: str, before: str, after: str) -> None:
    open_page(page, f"{url}/?compare={before},{after}")
    page.wait_for_selector("#compare-body:not([hidden])")


def test_the_comparison_shows_both_jobs_their_levels_and_the_difference_and_downloads_its_pdf(page, served):
    url, jobs = served
    open_comparison(page, url, jobs["before"], jobs["after"])
    shot(page, "1-before-and-after")
    comparison = api(url, "compare_jobs", before=jobs["before"], after=jobs["after"])["comparison"]
    for side, video in (("before", "line_3_packing.mp4"), ("after", "line_3_after_change.mp4")):
        card = page.inner_text(f"#compare-jobs [data-side={side}]")
        assert jobs[side] in card and video in card
        assert f"Verdict: {comparison[side]['verdict']['status']}" in card
    for headline in comparison["headlines"]:
        block = page.locator(f".compare-headline[data-method={headline['method']}]")
        assert block.locator(".compare-difference").inner_text() == headline["words"]  # "RULA max 6 → 3 (... → ...), 3 lower"
        for side in ("before", "after"):
            score = headline[side]
            shown = block.locator(f".compare-score[data-side={side}]")
            assert shown.locator(".big").inner_text() == str(score["max"])
            assert f"{score['level']}: {score['level_label']}" in shown.inner_text()  # the level in words...
            colour = shown.evaluate("e => getComputedStyle(e).borderLeftColor")
            assert colour == LEVEL_RGB[headline["method"]][score["level"]]  # ...and in its colour
    assert "Task detail changed: Load handled: 12 kg → 0 kg" in page.inner_text("#compare-notes")
    rows = page.locator("#compare-bands tbody tr")
    with_time = [row for row in comparison["bands"] if row["before_s"] or row["after_s"]]
    assert rows.count() == len(with_time) > 0
    for row, shown in zip(with_time, rows.all(), strict=True):  # after − before, in points of the time and in seconds
        cells = shown.locator("td").all_inner_texts()
        assert cells[1] == f"{round(row['before_share'] * 100)}% ({row['before_s']:.1f} s)"
        points, seconds = round(row["difference_share"] * 100), row["difference_s"]
        sign = lambda value: "+" if value > 0 else "−" if value < 0 else ""  # noqa: E731 - the page's signs
        changed = f"{sign(points)}{abs(points)} points ({sign(seconds)}{abs(seconds):.1f} s)"
        assert cells[3] == ("no change" if row["difference_share"] == 0 else changed)
    assert any(row["difference_share"] for row in with_time)  # the two videos differ
    assert accessibility_problems(page) == []
    with page.expect_download() as download:
        page.click("#compare-pdf")
    assert download.value.suggested_filename.startswith("comparison-") and download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    # the keyboard reaches every control of the view; "Back" leaves it for the page's start
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    reached = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
    assert {"compare-back", "compare-pdf"} <= reached
    page.focus("#compare-back")
    page.keyboard.press("Enter")
    page.wait_for_selector("#upload-section:not([hidden])")
    assert page.is_hidden("#compare-section") and "compare=" not in page.url


def test_at_phone_width_the_two_stack_and_a_job_that_is_not_assessable_shows_no_score(browser, served):
    url, jobs = served
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.shots = ARTIFACTS / "test_the_comparison_at_phone_width"
    phone.shots.mkdir(parents=True, exist_ok=True)
    try:
        open_comparison(phone, url, jobs["before"], jobs["nobody"])
        shot(phone, "1-before-and-nobody")
        before, after = (phone.locator(f"#compare-jobs [data-side={side}]").bounding_box() for side in ("before", "after"))
        assert after["y"] >= before["y"] + before["height"] and abs(after["x"] - before["x"]) < 1  # stacked
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert "Verdict: not assessable" in phone.inner_text("#compare-jobs [data-side=after]")
        for method in ("rula", "reba"):
            block = phone.locator(f".compare-headline[data-method={method}]")
            assert "not assessable: no score" in block.locator(".compare-score[data-side=after]").inner_text()
            assert "no difference is given" in block.locator(".compare-difference").inner_text()
        assert "The after job is not assessable" in phone.inner_text("#compare-notes")
        assert phone.locator("#compare-bands tbody td", has_text="points").count() == 0  # no difference in any band
        assert accessibility_problems(phone) == []
        open_page(phone, f"{url}/?compare={jobs['before']},01ZZZZZZZZZZZZZZZZZZZZZZZZ")
        phone.wait_for_function("document.querySelector('#compare-status').textContent.includes('cannot be compared')")
        assert "There is no job with id 01ZZZZZZZZZZZZZZZZZZZZZZZZ" in phone.inner_text("#compare-status")
        assert phone.is_hidden("#compare-body")
        shot(phone, "2-refused")
    finally:
        context.close()
