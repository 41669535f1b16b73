"""Issue 28, item 1, in Chromium: "My analyses". A returning user's page opens on their own analyses (and a reload
keeps it there); they filter by station, task and words, reopen a result, and tick two completed ones to compare
them (?compare=OLDER,NEWER). The list is reachable from every view, works with the keyboard, passes axe-core, and is
a card per analysis on a phone. Screenshots go to test-artifacts/frontend/."""

from __future__ import annotations

import pytest

from ergo_tasks.analysis.keys import OPERATOR
from tests.browser import ARTIFACTS, accessibility_problems, open_page, queued_job, shot
from tests.helpers import make_app
from tests.history_jobs import add_job, analysed_document

pytestmark = pytest.mark.slow

MORNING = {"station": "Line 3", "task": "Packing", "department": "Logistics", "assessor": "R. Diaz", "notes": "before"}
AFTER = {"station": "Line 3", "task": "Packing", "assessor": "R. Diaz", "notes": "after the new table"}
SAW = {"station": "Saw 2", "task": "Cutting"}


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict:
    return analysed_document(tmp_path_factory.mktemp("history-result"))


@pytest.fixture
def jobs(server, local_store, document) -> tuple[str, dict[str, str]]:
    """A server without tokens (every caller is the operator) and no workers, and five analyses of its user's, oldest
    first: (base URL, job id by name)."""
    url = server(local_store, ERGO_SERVE_WORKERS="0")
    app = make_app(local_store, eager=False)
    made = {
        "morning": add_job(app, OPERATOR, "line 3 morning.mp4", MORNING, result=document, verdict="assessable", rula=6, reba=9),
        "blurry": add_job(app, OPERATOR, "blurry.mp4", result=document, verdict="not assessable", rula=3, reba=3),
        "saw": add_job(app, OPERATOR, "saw.mp4", SAW, result=document, verdict="partly assessable", rula=3, reba=2),
        "after": add_job(app, OPERATOR, "line 3 after.mp4", AFTER, result=document, verdict="assessable", rula=4, reba=4),
        "new": add_job(app, OPERATOR, "tomorrow.mp4"),  # queued
    }
    return url, made


def rows(page) -> list[str]:
    return page.eval_on_selector_all("#history-table tbody tr", "rows => rows.map(row => row.dataset.job)")


def shows(page, job_ids: list[str]) -> None:
    """Waits until the list shows exactly ``job_ids``, in this order (after a filter's pause and answer)."""
    page.wait_for_function("ids => JSON.stringify([...document.querySelectorAll('#history-table tbody tr')]"
                           ".map(row => row.dataset.job)) === JSON.stringify(ids)", arg=job_ids)


def row_text(page, job_id: str) -> str:
    return page.inner_text(f"#history-table tr[data-job='{job_id}']")


def test_a_returning_user_lands_on_their_analyses_filters_them_and_reopens_a_result(page, jobs):
    url, made = jobs
    open_page(page, url)  # a first visit: the form
    assert page.is_visible("#upload-section") and page.is_hidden("#history-section")
    assert accessibility_problems(page) == []
    open_page(page, f"{url}/?job={made['new']}")  # following a job makes this browser a returning one
    page.wait_for_selector("#job-progress:not([hidden])")
    open_page(page, url)  # while the job it follows runs, the page opened again follows it
    page.wait_for_selector("#job-progress:not([hidden])")
    assert page.inner_text("#job-id") == made["new"]
    open_page(page, f"{url}/?job={made['morning']}")
    page.wait_for_selector("#results-section:not([hidden])")
    open_page(page, url)  # the same page opened later, no job running: "My analyses" first
    page.wait_for_selector("#history-table:not([hidden]) tbody tr")
    assert page.is_hidden("#upload-section") and "view=history" in page.url
    order = [made[name] for name in ("new", "after", "saw", "blurry", "morning")]
    assert rows(page) == order  # newest first
    morning = row_text(page, made["morning"])
    for shown in ("line_3_morning.mp4", "Line 3 · Packing", "Logistics · R. Diaz", "assessable", "6 · investigate and change soon",
                  "9 · high", "completed"):
        assert shown in morning, (shown, morning)
    blurry = row_text(page, made["blurry"])  # cannot be assessed: no score, as its results show none
    assert "not assessable" in blurry and "investigate" not in blurry and "acceptable" not in blurry
    assert "queued" in row_text(page, made["new"])
    assert page.locator(f"tr[data-job='{made['new']}'] input[type=checkbox]").count() == 0  # nothing to compare yet
    assert page.inner_text("#history-count") == "5 analyses shown."
    shot(page, "1-my-analyses")
    assert accessibility_problems(page) == []
    page.reload()
    page.wait_for_selector("#history-table:not([hidden]) tbody tr")
    assert page.is_visible("#history-section") and rows(page) == order  # kept across a reload

    page.fill("#history-station", "line 3")  # in any case; exactly this station
    shows(page, [made["after"], made["morning"]])
    page.fill("#history-text", "NEW TABLE")  # and words from the notes
    shows(page, [made["after"]])
    shot(page, "2-filtered")
    page.fill("#history-station", "")
    page.fill("#history-text", "")
    page.fill("#history-task", "cutting")
    shows(page, [made["saw"]])
    page.fill("#history-task", "welding")
    page.wait_for_function("document.querySelector('#history-count').innerText.includes('No analysis matches')")
    assert page.is_hidden("#history-table")
    page.fill("#history-task", "")
    shows(page, order)

    page.focus(f"tr[data-job='{made['morning']}'] a")  # reopened with the keyboard
    page.keyboard.press("Enter")
    page.wait_for_selector("#results-section:not([hidden])")
    assert f"job={made['morning']}" in page.url and "view=" not in page.url
    assert "line_3_morning.mp4" in page.inner_text("#results-meta") and "Verdict: assessable" in page.inner_text("#verdict")
    shot(page, "3-reopened")
    page.click("#history-link")  # from every view, back to the list
    page.wait_for_selector("#history-table:not([hidden]) tbody tr")
    assert "view=history" in page.url and "job=" not in page.url
    assert page.evaluate("document.activeElement.id") == "history-title"
    page.click("#history-section .new-analysis")  # a new video from the list; a reload keeps the form
    page.wait_for_selector("#upload-section:not([hidden])")
    page.reload()
    page.wait_for_selector("#upload-section:not([hidden])")
    assert page.is_hidden("#history-section") and "view=upload" in page.url


def test_two_ticked_analyses_open_the_comparison_older_first(page, jobs):
    url, made = jobs
    open_page(page, f"{url}/?view=history")
    page.wait_for_selector("#history-table:not([hidden]) tbody tr")
    assert page.is_disabled("#history-compare")
    assert "Tick two completed analyses" in page.inner_text("#history-compare-note")
    for name in ("after", "morning"):  # ticked with the keyboard: the newer one first
        page.focus(f"tr[data-job='{made[name]}'] input[type=checkbox]")
        page.keyboard.press("Space")
    assert page.is_enabled("#history-compare")
    page.check(f"tr[data-job='{made['saw']}'] input[type=checkbox]")
    assert page.is_disabled("#history-compare") and "3 ticked" in page.inner_text("#history-compare-note")
    page.uncheck(f"tr[data-job='{made['saw']}'] input[type=checkbox]")
    page.fill("#history-station", "saw 2")  # the ticks stay while the filters change
    shows(page, [made["saw"]])
    assert page.is_enabled("#history-compare")
    shot(page, "ticked-two")
    page.click("#history-compare")
    page.wait_for_url(f"**/?compare={made['morning']},{made['after']}")  # before, then after


def test_on_a_phone_each_analysis_is_a_card_that_fits(browser, jobs):
    url, made = jobs
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(30_000)
    phone.shots = ARTIFACTS / "test_on_a_phone_each_analysis_is_a_card_that_fits"
    phone.shots.mkdir(parents=True, exist_ok=True)
    open_page(phone, f"{url}/?view=history")
    phone.wait_for_selector("#history-table:not([hidden]) tbody tr")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    card = phone.locator(f"tr[data-job='{made['morning']}']")
    assert card.evaluate("row => getComputedStyle(row).display") == "block"  # a card, not a table row
    # the column heads are left to screen readers; each cell says what it is instead
    assert phone.eval_on_selector("#history-table thead", "head => head.getBoundingClientRect().height") <= 1
    label = card.locator("td[data-label=RULA]").evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == '"RULA: "'
    heights = phone.eval_on_selector_all("#history-table a.history-open", "links => links.map(a => a.getBoundingClientRect().height)")
    assert min(heights) >= 40, heights  # a finger's size
    shot(phone, "my-analyses-390")
    assert accessibility_problems(phone) == []
    context.close()


def test_with_tokens_a_user_sees_their_own_analyses_only(page, server, local_store):
    url = server(local_store, ERGO_API_TOKENS="user1,user2", ERGO_SERVE_WORKERS="0")
    mine = queued_job(url, local_store, "mine.mp4", "user1")
    queued_job(url, local_store, "theirs.mp4", "user2")
    open_page(page, f"{url}/?view=history#token=user1")
    page.wait_for_selector("#history-table:not([hidden]) tbody tr")
    assert rows(page) == [mine] and "theirs" not in page.inner_text("#history-section")
    page.evaluate("localStorage.removeItem('ergo.token')")
    page.reload()
    page.wait_for_selector("#history-error:not([hidden])")
    assert "needs an access token" in page.inner_text("#history-error")
    shot(page, "asks-for-a-token")

