"""An upload stopped by a reload and resumed keeps the task details and the task record typed for it (the page keeps
them in this browser with the quality and the part of the video), and sends them with the job, in Chromium.
Screenshots go to test-artifacts/frontend/."""

from __future__ import annotations

import json

import pytest

from tests.browser import choose_and_start, open_page, reload_when_sent, shot, slow_uploads
from tests.helpers import mp4_lookalike

pytestmark = pytest.mark.slow


def test_a_resumed_upload_keeps_the_task_details_and_the_record_typed_for_it(page, server, local_store, tmp_path):
    big = tmp_path / "long shift.mp4"
    big.write_bytes(mp4_lookalike(14 * 1024 * 1024))  # 3 parts of 5 MiB
    url = server(local_store, ERGO_UPLOAD_PART_BYTES=str(5 * 1024 * 1024), ERGO_SERVE_WORKERS="0")  # jobs stay queued
    open_page(page, url)
    slow_uploads(page)
    page.click("#task-details summary")
    page.fill("#task-fields input[name=load_kg]", "12")
    page.check("#task-fields input[name=sitting]")
    page.fill("#task-fields input[name=coupling]", "2")
    page.fill("#record-station", "Line 3, packing")
    page.fill("#record-assessor", "A. Jansen")
    choose_and_start(page, big)
    reload_when_sent(page, 2)

    assert page.evaluate("document.querySelector('#task-details').open")  # what was typed is in view
    assert page.input_value("#task-fields input[name=load_kg]") == "12" and page.is_checked("#task-fields input[name=sitting]")
    assert page.input_value("#task-fields input[name=coupling]") == "2"
    assert page.input_value("#record-station") == "Line 3, packing" and page.input_value("#record-assessor") == "A. Jansen"
    assert page.input_value("#record-task") == ""  # left empty, stays empty
    shot(page, "1-resumed-upload-keeps-task-details-and-record")
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/start_processing") else None)
    page.set_input_files("#file-input", str(big))
    page.click("#start-button")
    page.wait_for_selector("#job-progress:not([hidden])", timeout=60_000)
    assert sent[0]["params"] == {"load_kg": 12, "sitting": True, "coupling": 2}
    assert sent[0]["record"]["station"] == "Line 3, packing" and sent[0]["record"]["assessor"] == "A. Jansen"
