"""Loose ends of issue 28, through the API: a poll of a completed job reads its status document and nothing else
(whether the PDF and the workbook show the task record is noted in that document), the part of the video a job was
asked to analyse is in its view while it waits and runs and in the operator's list, and a job that is not
assessable offers the uploaded video, never the annotated one (that would show scores)."""

from __future__ import annotations

import io

import pytest

from ergo_tasks.analysis import AnalysisSettings, register
from ergo_tasks.analysis.keys import upload_key
from ergo_tasks.analysis.records import FILES_RECORD, files_current
from ergo_tasks.jobstore import JobStore
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from pipeline.synthetic import make_video
from pipeline.time_range import TimeRange, asked_words, clock
from tests.helpers import RecordingStore, make_app

pytestmark = pytest.mark.usefixtures("random_weights")

ALICE = Caller(client="alice", operator=False, internal=False)
RECORD = {"station": "Line 3, packing", "assessor": "A. Jansen"}


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("polish") / "station.mp4", frames=30, width=96, height=64)


def service_on(store, dispatch_mode: str = "inline"):
    app = make_app(store, eager=False)
    register(app, AnalysisSettings())
    return build_service(app, ServiceSettings(dispatch_mode=dispatch_mode))


def call(service, action, caller=ALICE, **params) -> dict:
    answer = service.handle(action, params, caller)
    assert answer["status"] == "success", answer
    return answer


def start(service, video, **params) -> str:
    key = upload_key(video.name, ALICE.owner)
    service.store.upload_file(key, video, content_type="video/mp4")
    return call(service, "start_processing", video_key=key, quality="low", **params)["job_id"]


def pdf_first_page(body: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(PdfReader(io.BytesIO(body)).pages[0].extract_text().split())


def poll(service, recording: RecordingStore, job_id: str) -> tuple[dict, list[tuple[str, str]]]:
    """get_status of the job, and the storage calls it made (name, key)."""
    recording.calls.clear()
    status = call(service, "get_status", job_id=job_id)["job_status"]
    return status, [(name, key) for name, key, _ in recording.calls]


# -- 1. a poll reads the status document alone ---------------------------------------------------------------------
def test_a_poll_of_a_completed_job_reads_its_status_document_once_and_nothing_else(local_store, video):
    recording = RecordingStore(local_store)
    service = service_on(recording)
    job_id = start(service, video, record=RECORD)
    status_key = JobStore.status_key(job_id)

    status, calls = poll(service, recording, job_id)
    assert status["status"] == "completed" and status["record"]["station"] == RECORD["station"]
    assert [key for name, key in calls if name == "get"] == [status_key]  # no results/<job>/record.json, no result
    assert not [call for call in calls if call[0] in ("put", "upload", "download", "list", "delete")], calls

    call(service, "update_record", job_id=job_id, record={**RECORD, "assessor": "B. Okafor"})  # rewrites, notes it
    assert files_current(service.app.jobs.read(job_id).doc)
    status, calls = poll(service, recording, job_id)
    assert status["record"]["assessor"] == "B. Okafor"
    assert [key for name, key in calls if name == "get"] == [status_key]
    assert not [call for call in calls if call[0] in ("put", "upload", "download", "list", "delete")], calls


def test_files_never_noted_in_the_document_are_written_again_once_then_polls_read_only_the_status(local_store, video):
    recording = RecordingStore(local_store)
    service = service_on(recording)
    job_id = start(service, video, record=RECORD)
    # as a job whose files were written before the note was kept in its document: they count as showing no record
    service.app.jobs.update(job_id, lambda doc: doc.updated(annotations={k: v for k, v in doc.annotations.items() if k != FILES_RECORD}))
    assert not files_current(service.app.jobs.read(job_id).doc)

    _, calls = poll(service, recording, job_id)
    assert ("upload", service.app.jobs.read(job_id).doc.result_keys["pdf"]) in calls  # written again, with the record
    doc = service.app.jobs.read(job_id).doc
    assert files_current(doc) and "Station: Line 3, packing" in pdf_first_page(service.store.get(doc.result_keys["pdf"]).body)
    _, calls = poll(service, recording, job_id)
    assert [key for name, key in calls if name == "get"] == [JobStore.status_key(job_id)]


def test_a_job_without_a_record_is_current_without_a_note():
    from ergo_tasks.ids import new_job_id
    from ergo_tasks.status import JobStatus, TaskRequest

    doc = JobStatus.new(new_job_id(), "t", TaskRequest(), 0)
    assert files_current(doc)  # files written with no record show none, noted or not
    doc.annotations["record"] = RECORD
    assert not files_current(doc)


# -- 2. the part of the video asked for, before the result measures it ----------------------------------------------
def test_the_words_for_a_range_asked_for_need_no_video_length():
    assert [clock(t) for t in (0, 12, 12.5, 100, 3599.96)] == ["0:00", "0:12", "0:12.5", "1:40", "60:00"]
    assert asked_words(TimeRange(12, 100)) == "0:12–1:40 of the video"
    assert asked_words(TimeRange(72.5, None)) == "1:12.5 to the end of the video"


def test_a_queued_job_and_the_operators_list_say_the_part_asked_for(local_store, video):
    service = service_on(local_store, dispatch_mode="worker")  # queued: no worker runs it
    ranged = start(service, video, start_s=12, end_s=100)
    whole = start(service, video)
    status = call(service, "get_status", job_id=ranged)["job_status"]
    assert status["status"] == "queued"
    assert status["asked_range"] == {"start_s": 12.0, "end_s": 100.0, "words": "0:12–1:40 of the video"}
    assert call(service, "get_status", job_id=whole)["job_status"]["asked_range"] is None
    listed = {job["job_id"]: job for job in call(service, "list_jobs", Caller(), limit=10)["jobs"]}
    assert listed[ranged]["asked_range"]["words"] == "0:12–1:40 of the video" and listed[whole]["asked_range"] is None
    from_start = start(service, video, start_s=30)
    assert call(service, "get_status", job_id=from_start)["job_status"]["asked_range"]["words"] == "0:30 to the end of the video"


# -- 3. a job that is not assessable offers the uploaded video -------------------------------------------------------
def test_a_job_not_assessable_offers_the_uploaded_video_never_the_annotated_one(local_store, video):
    service = service_on(local_store)
    job_id = start(service, video, overlay=True)  # the annotated video is written
    status = call(service, "get_status", job_id=job_id)["job_status"]
    assert "mp4" in status["artifacts"]
    verdict = status["summary"]["verdict"]["status"]
    assert status["video"]["source"] == ("original" if verdict == "not assessable" else "overlay")

    def not_assessable(doc):  # the same job as if its verdict had said so
        result = {**doc.result, "summary": {**doc.result["summary"], "verdict": {"status": "not assessable",
                  "reasons": ["No person was found in the video."], "advice": ["Film the worker."]}}}
        return doc.updated(result=result)

    service.app.jobs.update(job_id, not_assessable)
    video_view = call(service, "get_status", job_id=job_id)["job_status"]["video"]
    assert video_view["source"] == "original" and "/uploads/" in video_view["url"] and video_view["skeleton_url"]
    service.store.delete(service.app.jobs.read(job_id).doc.request.kwargs["video_key"])  # the upload expired
    assert call(service, "get_status", job_id=job_id)["job_status"]["video"] is None  # never the overlay's scores
