"""Issue 28, item 2: the task record (station, task, department, assessor, notes), set with the upload through the
API and the CLI, edited later without analysing again, shown by the job's view, the PDF report and the workbook."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys

import pytest
from pydantic import ValidationError

from ergo_tasks.analysis import AnalysisSettings, register
from ergo_tasks.analysis.keys import upload_key
from ergo_tasks.analysis.records import FILES_RECORD, change_record, files_current, record_digest
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from pipeline.synthetic import make_video
from pipeline.task_record import LINE_LIMIT, NOTES_LIMIT, TaskRecord
from tests.helpers import make_app, storage_env

RECORD = {"station": "Line 3, packing", "task": "Boxing parcels", "department": "Dispatch", "assessor": "A. Jansen",
          "notes": "Before the new table.\nLoads vary from 2 to 12 kg."}
EDITED = {"station": "Line 4, packing", "task": "Boxing parcels at the new table", "department": "Dispatch",
          "assessor": "B. Okafor", "notes": "After the intervention."}
EMPTY = dict.fromkeys(RECORD, "")
ALICE = Caller(client="alice", operator=False, internal=False)
BOB = Caller(client="bob", operator=False, internal=False)


pytestmark = pytest.mark.usefixtures("random_weights")


@pytest.fixture
def service(local_store):
    app = make_app(local_store, eager=False)
    register(app, AnalysisSettings())
    return build_service(app, ServiceSettings(dispatch_mode="inline"))


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("record") / "station.mp4", frames=30, width=96, height=64)


def call(service, action, caller=ALICE, **params) -> dict:
    answer = service.handle(action, params, caller)
    assert answer["status"] == "success", answer
    return answer


def start(service, video, caller=ALICE, **params) -> str:
    key = upload_key(video.name, caller.owner)
    service.store.upload_file(key, video, content_type="video/mp4")
    return call(service, "start_processing", caller, video_key=key, quality="low", **params)["job_id"]


def stored(service, job_id: str, artifact: str) -> bytes:
    return service.store.get(service.app.jobs.read(job_id).doc.result_keys[artifact]).body


def pdf_first_page(body: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(PdfReader(io.BytesIO(body)).pages[0].extract_text().split())


def pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split())


def summary_cells(body: bytes) -> dict:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(body), read_only=True)["Summary"]
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if len(row) > 1 and row[0]}


# -- the model: one definition, refusals in words ---------------------------------------------------------------
def test_the_record_is_stripped_limited_and_refuses_control_characters_in_words():
    record = TaskRecord(station="  Line 3  ", notes=" first line\r\nsecond\tcolumn ")
    assert record.station == "Line 3" and record.notes == "first line\nsecond\tcolumn" and record.assessor == ""
    assert TaskRecord(station="x" * LINE_LIMIT).station == "x" * LINE_LIMIT
    for fields, words in [({"station": "Line 3\nLine 4"}, "must not contain a line break (only the notes may have several lines)"),
                          ({"assessor": "A\x07B"}, "must not contain the control character U+0007"),
                          ({"notes": "ok\x00"}, "must not contain the control character U+0000"),
                          ({"task": "abc\u202edcb"}, "U+202E, a mark that reorders text"),
                          ({"station": "x" * (LINE_LIMIT + 1)}, f"at most {LINE_LIMIT} characters"),
                          ({"notes": "x" * (NOTES_LIMIT + 1)}, f"at most {NOTES_LIMIT} characters"),
                          ({"colour": "red"}, "Extra inputs are not permitted")]:
        with pytest.raises(ValidationError) as raised:
            TaskRecord(**fields)
        assert words in str(raised.value), fields


def test_a_stored_record_that_no_longer_passes_is_shown_rather_than_failing_every_read():
    from ergo_tasks.analysis.records import record_of
    from ergo_tasks.ids import new_job_id
    from ergo_tasks.status import JobStatus, TaskRequest

    doc = JobStatus.new(new_job_id(), "t", TaskRequest(), 0)  # as if the limits were lowered after it was stored
    doc.annotations["record"] = {"station": "x" * (LINE_LIMIT + 5), "task": None}
    assert record_of(doc).model_dump() == {**EMPTY, "station": "x" * (LINE_LIMIT + 5)}


def test_the_api_refuses_a_bad_record_in_words_before_storage_is_touched(service, video):
    key = upload_key(video.name, ALICE.owner)
    service.store.upload_file(key, video, content_type="video/mp4")
    before = sorted(info.key for info in service.store.list(""))
    for record, words in [({"station": "a\nb"}, "record.station: Value error, must not contain a line break"),
                          ({"notes": "n" * (NOTES_LIMIT + 1)}, f"record.notes: String should have at most {NOTES_LIMIT} characters"),
                          ({"station": "Line 3", "shift": "night"}, "record.shift: Extra inputs are not permitted"),
                          ("Line 3", "record: Input should be a valid dictionary or instance of TaskRecord")]:
        answer = service.handle("start_processing", {"video_key": key, "quality": "low", "record": record}, ALICE)
        assert answer["code"] == "invalid_input" and answer["error"].startswith(f"Invalid request: {words}")
        answer = service.handle("update_record", {"job_id": "01JOBDOESNOTEXIST0000000", "record": record}, ALICE)
        assert answer["code"] == "invalid_input" and words in answer["error"]
    assert sorted(info.key for info in service.store.list("")) == before  # no job, no document


def test_a_job_without_a_record_shows_an_empty_one_and_info_lists_the_fields(service, video):
    job_id = start(service, video)
    status = call(service, "get_status", job_id=job_id)["job_status"]
    assert status["status"] == "completed" and status["record"] == EMPTY
    assert summary_cells(stored(service, job_id, "xlsx"))["Station"] is None  # the row is there, empty
    text = pdf_text(stored(service, job_id, "pdf"))
    assert "Station:" not in text and "Notes" not in text
    from ergo_tasks.service.actions import service_info

    fields = service_info(None)["task_record"]
    assert [(f["name"], f["max_length"], f["multiline"]) for f in fields] == [
        ("station", LINE_LIMIT, False), ("task", LINE_LIMIT, False), ("department", LINE_LIMIT, False),
        ("assessor", LINE_LIMIT, False), ("notes", NOTES_LIMIT, True)]


# -- set at the start, edited after: the files follow, the scores do not move ------------------------------------
def test_a_record_set_at_the_start_is_in_the_status_the_pdf_and_the_workbook(service, video):
    job_id = start(service, video, record={**RECORD, "station": "  Line 3, packing "})
    status = call(service, "get_status", job_id=job_id)["job_status"]
    assert status["status"] == "completed" and status["record"] == RECORD
    first, text = pdf_first_page(stored(service, job_id, "pdf")), pdf_text(stored(service, job_id, "pdf"))
    assert ("Station: Line 3, packing · Task: Boxing parcels · Department: Dispatch · Assessor: A. Jansen" in first
            and first.index("Assessor") < first.index("Verdict"))  # under the title
    assert "Notes Before the new table. Loads vary from 2 to 12 kg." in text[text.index("The job"):]  # with the job
    cells = summary_cells(stored(service, job_id, "xlsx"))
    assert {name: cells[name.capitalize()] for name in RECORD} == RECORD
    noted = service.app.jobs.read(job_id).doc.annotations[FILES_RECORD]  # the note of what the files show, in the document
    assert noted == record_digest(TaskRecord(**RECORD))


def test_editing_a_completed_jobs_record_rewrites_its_pdf_and_workbook_only(service, video):
    job_id = start(service, video, record=RECORD)
    before = call(service, "get_status", job_id=job_id)["job_status"]
    doc = service.app.jobs.read(job_id).doc
    kept = {artifact: hashlib.sha256(stored(service, job_id, artifact)).hexdigest() for artifact in ("pkl", "json", "csv")}
    old_xlsx = stored(service, job_id, "xlsx")

    answer = call(service, "update_record", job_id=job_id, record=EDITED)
    assert answer["files_rewritten"] is True and "written again" in answer["message"]
    assert answer["job_status"]["record"] == EDITED
    after = call(service, "get_status", job_id=job_id)["job_status"]
    assert after["record"] == EDITED and after["summary"] == before["summary"]  # the scores did not move
    first = pdf_first_page(stored(service, job_id, "pdf"))
    assert "Station: Line 4, packing" in first and "Assessor: B. Okafor" in first and "Line 3" not in first
    assert "Notes After the intervention." in pdf_text(stored(service, job_id, "pdf"))
    cells = summary_cells(stored(service, job_id, "xlsx"))
    assert {name: cells[name.capitalize()] for name in EDITED} == EDITED
    old_cells = summary_cells(old_xlsx)
    assert {k: v for k, v in cells.items() if k not in {n.capitalize() for n in EDITED}} == \
        {k: v for k, v in old_cells.items() if k not in {n.capitalize() for n in EDITED}}  # every other cell as it was
    assert {artifact: hashlib.sha256(stored(service, job_id, artifact)).hexdigest() for artifact in kept} == kept
    new = service.app.jobs.read(job_id).doc
    assert new.history == doc.history and new.state == doc.state and new.result == doc.result  # only the record changed
    assert new.result_keys == doc.result_keys and new.annotations["record"] == EDITED

    again = call(service, "update_record", job_id=job_id, record=EDITED)  # the same record: nothing to write
    assert again["files_rewritten"] is False and "already show it" in again["message"]
    cleared = call(service, "update_record", job_id=job_id, record={"station": "Line 5"})  # the whole record: the rest empties
    assert cleared["job_status"]["record"] == {**EMPTY, "station": "Line 5"}


def test_a_record_edited_while_the_job_wrote_its_files_is_caught_up_by_the_next_status_read(service, video):
    job_id = start(service, video, record=RECORD)
    doc = change_record(service.app.jobs, job_id, TaskRecord(**EDITED)).doc  # as if saved between the task's read and its end
    assert not files_current(doc) and doc.annotations[FILES_RECORD] == record_digest(TaskRecord(**RECORD))
    status = call(service, "get_status", job_id=job_id)["job_status"]
    assert status["record"] == EDITED and files_current(service.app.jobs.read(job_id).doc)
    assert "B. Okafor" in pdf_first_page(stored(service, job_id, "pdf"))


def test_a_queued_job_keeps_its_record_for_its_files_and_another_client_cannot_reach_it(local_store, video):
    app = make_app(local_store, eager=False)
    register(app, AnalysisSettings())
    service = build_service(app, ServiceSettings(dispatch_mode="worker"))  # queued: no worker runs it yet
    job_id = start(service, video, record=RECORD)
    answer = call(service, "update_record", job_id=job_id, record=EDITED)
    assert answer["files_rewritten"] is False and "when the analysis completes" in answer["message"]
    refused = service.handle("update_record", {"job_id": job_id, "record": {"station": "mine now"}}, BOB)
    assert refused["code"] == "job_not_found" and "mine now" not in str(service.app.jobs.read(job_id).doc.annotations)
    operator = call(service, "update_record", Caller(), job_id=job_id, record={**EDITED, "notes": "checked by the operator"})
    assert operator["job_status"]["record"]["notes"] == "checked by the operator"
    app.run_until_ready(job_id)  # the worker writes the files with the record as the job holds it then
    assert "Notes checked by the operator" in pdf_text(stored(service, job_id, "pdf"))
    assert summary_cells(stored(service, job_id, "xlsx"))["Assessor"] == "B. Okafor"


# -- the command line --------------------------------------------------------------------------------------------
def ergo(store, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ergo_tasks.cli", *args], capture_output=True, text=True, timeout=300,
                          env=storage_env(store, ERGO_POSE_MODEL="keypointrcnn", ERGO_POSE_WEIGHTS="random"))


def test_the_cli_sets_the_record_with_analyze_and_changes_it_with_record(local_store, video, tmp_path):
    out = tmp_path / "out"
    bad = ergo(local_store, "analyze", str(video), "--station", "x" * (LINE_LIMIT + 1))
    assert bad.returncode == 2 and f"Invalid task record: station: String should have at most {LINE_LIMIT}" in bad.stderr
    assert "Traceback" not in bad.stderr
    flags = [f"--{name}={value}" for name, value in RECORD.items()]
    analysed = ergo(local_store, "analyze", str(video), "--quality", "low", "--out", str(out), *flags)
    assert analysed.returncode == 0, analysed.stderr[-2000:]
    job_id = next(line.split()[1].rstrip(":") for line in analysed.stderr.splitlines() if line.startswith("Job "))
    assert "Station: Line 3, packing" in pdf_first_page((out / "report.pdf").read_bytes())

    shown = ergo(local_store, "record", job_id)
    assert shown.returncode == 0 and "Station:    Line 3, packing" in shown.stdout and "Assessor:   A. Jansen" in shown.stdout
    changed = ergo(local_store, "record", job_id, "--assessor", "B. Okafor", "--out", str(out), "--json")
    assert changed.returncode == 0, changed.stderr[-2000:]
    import json

    assert json.loads(changed.stdout) == {**RECORD, "assessor": "B. Okafor"}  # only the field given changed
    assert "written again" in changed.stderr
    assert "Assessor: B. Okafor" in pdf_first_page((out / "report.pdf").read_bytes())
    assert summary_cells((out / "report.xlsx").read_bytes())["Assessor"] == "B. Okafor"
    refused = ergo(local_store, "record", job_id, "--station", "two\nlines")
    assert refused.returncode == 2 and "Invalid task record: station: Value error, must not contain a line break" in refused.stderr


def test_submit_takes_the_record_flags():
    from ergo_tasks.cli import parser
    from ergo_tasks.cli.record import record_from

    args = parser().parse_args(["submit", "clip.mp4", "--station", " Line 3 ", "--notes", "first\nsecond"])
    assert record_from(args) == TaskRecord(station="Line 3", notes="first\nsecond")
    assert record_from(parser().parse_args(["submit", "clip.mp4"])) is None
