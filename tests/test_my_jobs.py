"""Issue 28, item 1: "My analyses". A user lists their own jobs (``list_my_jobs``), newest first, with the video's
name, the task record, the verdict and the headline scores with their levels; filtered by station, task and text;
in pages.  Another client's jobs are never listed.  The same list from a terminal: ``ergo my-jobs``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ergo_tasks.analysis import ANALYZE_TASK, AnalysisSettings, register
from ergo_tasks.analysis.keys import OPERATOR, upload_key
from ergo_tasks.jobstore import JobStore
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from pipeline.ergonomics import RISK_LEVELS
from pipeline.synthetic import make_video
from statestore.local import LocalStore
from tests import history_jobs
from tests.browser import api
from tests.helpers import make_app, mp4_lookalike, serve, storage_env

ALICE, BOB = Caller(client="alice", operator=False, internal=False), Caller(client="bob", operator=False, internal=False)
CONSOLE = Caller()  # no token: the operator's console, a server without tokens


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A service on an embedded store and one job of alice's analysed for real (keypointrcnn, random weights):
    (service, its job id).  The other jobs of these tests are made from its stored result."""
    folder = tmp_path_factory.mktemp("my-jobs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ERGO_POSE_MODEL", "keypointrcnn")
        env.setenv("ERGO_POSE_WEIGHTS", "random")
        app = make_app(LocalStore(folder / "store"), eager=False)
        register(app, AnalysisSettings())
        service = build_service(app, ServiceSettings(dispatch_mode="inline"))
        video = make_video(folder / "station.mp4", frames=20, width=96, height=64, fps=10)
        key = upload_key("Line 3 packing.mp4", owner="alice")
        app.store.upload_file(key, video)
        job_id = service.handle("start_processing", {"video_key": key, "quality": "low"}, ALICE)["job_id"]
    assert service.handle("get_status", {"job_id": job_id}, ALICE)["job_status"]["status"] == "completed"
    return service, job_id


@pytest.fixture
def service(tmp_path, analysed):
    """A fresh service and store for each test; ``service.real`` is the analysed job's stored result document."""
    app = make_app(LocalStore(tmp_path / "store"), eager=False)
    register(app, AnalysisSettings())
    fresh = build_service(app, ServiceSettings(dispatch_mode="worker"))
    first, job_id = analysed
    fresh.real = first.app.jobs.read(job_id).doc.result
    return fresh


def add_job(service, owner: str, name: str, record: dict | None = None, *, done: bool = True, **changes) -> str:
    """A job of ``owner``'s with a task record; ``done``: completed with the real result, its verdict and maxima changed."""
    return history_jobs.add_job(service.app, owner, name, record, result=service.real if done else None, **changes)


def mine(service, caller: Caller = ALICE, **params) -> dict:
    answer = service.handle("list_my_jobs", params, caller)
    assert answer["status"] == "success", answer
    return answer


def ids(answer: dict) -> list[str]:
    return [job["job_id"] for job in answer["jobs"]]


def test_a_user_lists_their_own_jobs_newest_first_and_never_another_clients(service):
    alices = [add_job(service, "alice", f"shift {n}.mp4") for n in range(3)]
    bobs = add_job(service, "bob", "bob's shift.mp4")
    consoles = add_job(service, OPERATOR, "console.mp4")
    untagged = service.app.queue.enqueue(ANALYZE_TASK, [], {"video_key": "uploads/x/old.mp4"}, 0).job_id  # `ergo analyze`'s: no owner
    assert ids(mine(service)) == alices[::-1]
    assert ids(mine(service, BOB)) == [bobs]
    # the console (and every caller of a server without tokens) is the operator: its own jobs, not the clients'
    assert ids(mine(service, CONSOLE)) == [untagged, consoles]
    assert service.handle("list_jobs", {}, ALICE)["code"] == "forbidden"  # the operator's list stays the operator's
    bob_token = Caller(client="bob", operator=True, internal=False)  # an operator's token lists its own jobs here too
    assert ids(mine(service, bob_token)) == [bobs]


def test_a_row_says_what_the_video_is_of_how_it_stands_and_how_high_it_scored(service, analysed):
    first, real_job = analysed
    row = mine(first)["jobs"][0]  # the job analysed for real, read as it was stored
    status = first.handle("get_status", {"job_id": real_job}, ALICE)["job_status"]
    assert row["job_id"] == real_job and row["filename"] == "Line_3_packing.mp4" == status["filename"]
    assert row["status"] == "completed" and row["created_at"] == status["created_at"]
    assert row["verdict"] == status["summary"]["verdict"]["status"] != "not assessable"  # a 64 px worker: partly at most
    assert row["rula"]["max"] == status["summary"]["rula"]["max"] and row["reba"]["max"] == status["summary"]["reba"]["max"]

    record = {"station": "Line 3", "task": "Packing", "department": "Logistics", "assessor": "R. Diaz", "notes": "before"}
    high = add_job(service, "alice", "a.mp4", record, verdict="assessable", rula=6, reba=11)
    low = add_job(service, "alice", "b.mp4", verdict="partly assessable", rula=2, reba=1)
    hidden = add_job(service, "alice", "c.mp4", verdict="not assessable", rula=5, reba=9)
    waiting = add_job(service, "alice", "d.mp4", done=False)
    again = add_job(service, "alice", "e.mp4", verdict="assessable", rula=7, reba=4, rescored_from=high)
    rows = {job["job_id"]: job for job in mine(service)["jobs"]}
    assert rows[high]["record"] == record and rows[high]["verdict"] == "assessable"
    assert rows[high]["rula"] == {"max": 6, "level": 3, "label": "investigate and change soon"}
    assert rows[high]["reba"] == {"max": 11, "level": 4, "label": "very high"}
    assert rows[low]["rula"] == {"max": 2, "level": 1, "label": "acceptable"}
    assert rows[low]["reba"] == {"max": 1, "level": 0, "label": "negligible"}
    assert rows[again]["rula"]["label"] == RISK_LEVELS["rula"][-1][2] and rows[again]["rescored_from"] == high
    # a video that cannot be assessed shows no score, as its results do not
    assert rows[hidden]["verdict"] == "not assessable" and rows[hidden]["rula"] is None and rows[hidden]["reba"] is None
    assert rows[waiting]["status"] == "queued" and rows[waiting]["verdict"] is None and rows[waiting]["rula"] is None
    assert rows[waiting]["record"] == dict.fromkeys(record, "") and rows[waiting]["rescored_from"] is None
    part = service.app.queue.enqueue(ANALYZE_TASK, [], {}, 0, owner="alice", parent="x" * 26)  # a part: never a row
    in_parts = service.app.queue.enqueue(ANALYZE_TASK, [], {"video_key": upload_key("long.mp4", "alice")}, 0, owner="alice",
                                         waiting_for=[part.job_id])
    row = mine(service)["jobs"][0]  # its own progress is not its parts': none is said
    assert row["job_id"] == in_parts.job_id and row["status"] == "processing" and row["progress"] is None
    assert part.job_id not in ids(mine(service))


def test_filters_by_station_and_task_exactly_and_by_text_anywhere(service):
    line3 = add_job(service, "alice", "morning.mp4", {"station": "Line 3", "task": "Packing", "assessor": "R. Diaz"})
    line3b = add_job(service, "alice", "noon.mp4", {"station": "Line 3B", "task": "Packing", "notes": "after the new table"})
    line3_lift = add_job(service, "alice", "evening.mp4", {"station": "line 3", "task": "Lifting", "department": "Dispatch"})
    add_job(service, "bob", "bob.mp4", {"station": "Line 3", "task": "Packing", "notes": "new table"})
    assert ids(mine(service, station="LINE 3")) == [line3_lift, line3]  # in any case, and exactly: not Line 3B
    assert ids(mine(service, station="line 3", task="packing")) == [line3]
    assert ids(mine(service, task="Packing")) == [line3b, line3]
    assert ids(mine(service, text="NEW TABLE")) == [line3b]  # notes; bob's job says it too, and is not alice's
    assert ids(mine(service, text="diaz")) == [line3] and ids(mine(service, text="dispatch")) == [line3_lift]
    assert ids(mine(service, text="morning")) == [line3]  # the video's name
    assert ids(mine(service, text="3")) == [line3_lift, line3b, line3]
    assert ids(mine(service, station="Line 4")) == [] and ids(mine(service, text="nowhere")) == []


def test_pages_follow_each_other_without_gaps_or_repeats_filtered_or_not(service):
    made = [add_job(service, "alice", f"take {n}.mp4", {"station": "Press" if n % 2 else "Saw", "task": "Feeding"})
            for n in range(7)]
    for _ in range(3):
        add_job(service, "bob", "bob.mp4")  # between alice's pages: skipped, never counted in a page
    seen, cursor = [], None
    while True:
        answer = mine(service, limit=3, **({"cursor": cursor} if cursor else {}))
        assert len(answer["jobs"]) <= 3
        seen += ids(answer)
        cursor = answer["next_cursor"]
        if cursor is None:
            break
        assert cursor == seen[-1]
    assert seen == made[::-1]
    first = mine(service, limit=2, station="press")
    rest = mine(service, limit=2, station="press", cursor=first["next_cursor"])
    assert ids(first) + ids(rest) == [made[5], made[3], made[1]] and rest["next_cursor"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"text": "x" * 201}, {"owner": "bob"}, {"cursor": "y" * 65}])
def test_bad_requests_are_refused_in_words(service, params):
    answer = service.handle("list_my_jobs", params, ALICE)
    assert answer["status"] == "error" and answer["code"] == "invalid_input" and answer["error"].startswith("Invalid request")


def test_a_damaged_document_is_skipped_and_a_malformed_result_shows_no_scores(service):
    good = add_job(service, "alice", "good.mp4", verdict="assessable", rula=3, reba=3)
    odd = add_job(service, "alice", "odd.mp4", verdict="assessable", rula=3, reba=3)
    service.app.jobs.update(odd, lambda doc: doc.model_copy(update={"result": {**doc.result, "summary": {"rula": "?"}}}))
    broken = add_job(service, "alice", "broken.mp4")
    service.app.store.put(JobStore.status_key(broken), b"{not json")
    rows = mine(service)["jobs"]
    assert [row["job_id"] for row in rows] == [odd, good]
    assert rows[0]["status"] == "completed" and rows[0]["verdict"] is None and rows[0]["rula"] is None


def test_ergo_my_jobs_lists_the_callers_own_jobs_through_the_gateway(tmp_path):
    store = LocalStore(tmp_path / "store")
    process, url = serve(store, tmp_path, ERGO_API_TOKENS="alice-token,bob-token", ERGO_SERVE_WORKERS="0")
    try:
        jobs = {}
        for token, name in (("alice-token", "line 3 morning.mp4"), ("alice-token", "saw.mp4"), ("bob-token", "bobs.mp4")):
            slot = api(url, "generate_upload_url", token, filename=name, size=2000)
            store.put(slot["video_key"], mp4_lookalike(2000))
            jobs[name] = api(url, "start_processing", token, video_key=slot["video_key"], quality="low")["job_id"]
        app = make_app(store)
        app.jobs.update(jobs["saw.mp4"], lambda doc: doc.model_copy(update={"annotations": {"record": {"station": "Saw", "task": "Cutting"}}}))

        def ergo(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "my-jobs", "--url", url, *args], env=storage_env(store),
                                  capture_output=True, text=True, timeout=120)

        shown = ergo("--token", "alice-token")
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert lines[0].split() == ["JOB_ID", "CREATED", "VIDEO", "RECORD", "STATUS", "VERDICT", "RULA", "REBA"]
        assert [line.split()[0] for line in lines[1:]] == [jobs["saw.mp4"], jobs["line 3 morning.mp4"]]  # newest first
        assert "Saw · Cutting" in lines[1] and "queued" in lines[1] and "bobs" not in shown.stdout
        listed = json.loads(ergo("--token", "alice-token", "--station", "saw", "--json").stdout)
        assert [job["job_id"] for job in listed["jobs"]] == [jobs["saw.mp4"]] and listed["next_cursor"] is None
        paged = ergo("--token", "alice-token", "--limit", "1")
        assert jobs["saw.mp4"] in paged.stdout and f"--cursor {jobs['saw.mp4']}" in paged.stderr
        refused = ergo("--token", "nobody")
        assert refused.returncode == 1 and refused.stderr.startswith("error: ") and "Traceback" not in refused.stderr
    finally:
        process.terminate()
        process.wait(timeout=30)
