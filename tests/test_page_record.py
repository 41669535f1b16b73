"""Issue 28, item 2, in Chromium: the task record set with the upload, shown on the results, edited there (the server
writes the PDF report and the workbook again; nothing is analysed again), kept across a reload."""

from __future__ import annotations

import io
import re
import urllib.request

import pytest

from tests.browser import accessibility_problems, analyse_to_results, api, open_page, shot

pytestmark = pytest.mark.slow

TYPED = {"station": "Line 3, packing", "task": "Boxing parcels", "department": "Dispatch", "assessor": "A. Jansen",
         "notes": "Before the new table.\nLoads vary from 2 to 12 kg."}


def pdf_text(url: str, job_id: str) -> str:
    from pypdf import PdfReader

    link = api(url, "generate_download_url", job_id=job_id, artifact="pdf")["download_url"]
    with urllib.request.urlopen(link, timeout=30) as response:
        reader = PdfReader(io.BytesIO(response.read()))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_the_page_sets_the_record_at_upload_and_edits_it_on_the_results(page, shared_server, clip):
    url, _ = shared_server
    open_page(page, url)
    labels = page.locator("#record-fields label").all_inner_texts()
    assert labels == ["Station", "Task", "Department", "Assessor", "Notes"]  # from /api/info: the server's one model
    assert page.get_attribute("#record-station", "maxlength") == "100" and page.get_attribute("#record-notes", "maxlength") == "2000"

    # a character the server would refuse is caught before a byte is sent
    page.fill("#record-assessor", "A.\u0007Jansen")
    page.set_input_files("#file-input", str(clip))
    page.click("#start-button")
    assert page.inner_text("#details-error").startswith("Check the task record first (nothing was sent): \"Assessor\" holds a character")
    assert page.is_visible("#upload-section") and page.get_attribute("#record-assessor", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "record-assessor"

    for name, value in TYPED.items():
        page.fill(f"#record-{name}", value)
    shot(page, "1-upload-with-record")
    analyse_to_results(page, clip)
    job_id = re.search(r"job=(\w+)", page.url).group(1)
    shown = page.locator("#record-view dd")
    assert shown.evaluate_all("ds => ds.map(d => [d.dataset.field, d.textContent])") == [[k, v] for k, v in TYPED.items()]
    assert api(url, "get_status", job_id=job_id)["job_status"]["record"] == TYPED
    assert "Station: Line 3, packing" in pdf_text(url, job_id)
    shot(page, "2-results-with-record")

    page.click("#edit-record")
    assert page.get_attribute("#edit-record-station", "value") is None  # set as a property, from the job's record
    assert page.input_value("#edit-record-station") == TYPED["station"] and page.input_value("#edit-record-notes") == TYPED["notes"]
    page.fill("#edit-record-station", "Line 3\u202e, packing")
    page.click("#record-form button[type=submit]")
    assert "Station" in page.inner_text("#record-error")  # refused before it is sent; the form stays open
    page.fill("#edit-record-station", "Line 4, packing")
    page.fill("#edit-record-assessor", "B. Okafor")
    page.fill("#edit-record-notes", "After the intervention.\nThe table is 10 cm higher.")
    shot(page, "3-editing-the-record")
    assert accessibility_problems(page) == []
    page.click("#record-form button[type=submit]")
    page.wait_for_selector("#record-saved:has-text('written again')")
    assert page.locator("#record-form").count() == 0 and page.evaluate("document.activeElement.id") == "edit-record"
    assert page.inner_text("#record-view dd[data-field=assessor]") == "B. Okafor"
    assert page.inner_text("#record-view dd[data-field=notes]") == "After the intervention.\nThe table is 10 cm higher."
    saved = api(url, "get_status", job_id=job_id)["job_status"]
    assert saved["record"] == {**TYPED, "station": "Line 4, packing", "assessor": "B. Okafor",
                               "notes": "After the intervention.\nThe table is 10 cm higher."}
    text = pdf_text(url, job_id)
    assert "Station: Line 4, packing" in text and "Assessor: B. Okafor" in text and "The table is 10 cm higher." in text
    shot(page, "4-record-saved")

    page.reload()  # kept with the job, not in the page
    page.wait_for_selector("#record-view dd")
    assert page.inner_text("#record-view dd[data-field=station]") == "Line 4, packing"
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#edit-record")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the form fits a phone
    shot(page, "5-editing-on-a-phone")
    page.click("#record-form button:has-text('Cancel')")
    assert page.locator("#record-form").count() == 0 and page.inner_text("#record-view dd[data-field=assessor]") == "B. Okafor"


def test_a_job_without_a_record_offers_to_add_one(page, shared_server, clip):
    url, _ = shared_server
    open_page(page, url)
    for name in TYPED:
        page.fill(f"#record-{name}", "")  # nothing typed: start_processing gets no record
    analyse_to_results(page, clip)
    job_id = re.search(r"job=(\w+)", page.url).group(1)
    assert "No task record" in page.inner_text("#record-view") and page.locator("#record-view dd").count() == 0
    page.click("#edit-record")
    page.fill("#edit-record-station", "Line 7")
    page.click("#record-form button[type=submit]")
    page.wait_for_selector("#record-view dd[data-field=station]")
    assert api(url, "get_status", job_id=job_id)["job_status"]["record"]["station"] == "Line 7"
    shot(page, "1-record-added-later")
