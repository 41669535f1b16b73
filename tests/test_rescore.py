"""Re-scoring without re-uploading (issue 28, item 3): ``rescore_job`` makes a new job from a finished job's poses
(the pose model is not run), the original stays byte for byte as it was, both show their link, a time range keeps
only its frames, and what cannot be re-scored is refused in words; ``ergo rescore`` does it from a terminal."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from ergo_tasks.analysis import ANALYZE_TASK, RESCORE_TASK, AnalysisSettings, register
from ergo_tasks.analysis.job_files import faces_key
from ergo_tasks.analysis.keys import results_prefix, upload_key
from ergo_tasks.analysis.rescore import NO_VIDEO
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from pipeline.results import FILES, load_result
from statestore.local import LocalStore
from tests.helpers import make_app, serve, storage_env

ALICE = Caller(client="alice", operator=False, internal=False)
BOB = Caller(client="bob", operator=False, internal=False)


@pytest.fixture(scope="module")
def analysed_job(pose_models, tmp_path_factory):
    """The demo video analysed once, by alice, through the service (BlazePose, quality low): (service, store, job id)."""
    from pipeline.demo import make_demo_video

    folder = tmp_path_factory.mktemp("rescore")
    store = LocalStore(folder / "store")
    app = make_app(store, eager=False)
    register(app, AnalysisSettings(pose_model="blazepose"))
    service = build_service(app, ServiceSettings(dispatch_mode="inline"))
    video = make_demo_video(folder / "line 3 packing.mp4")
    key = upload_key(video.name, ALICE.owner)
    store.upload_file(key, video)
    answer = service.handle("start_processing", {"video_key": key, "quality": "low", "params": {"coupling": 1},
                                                  "record": {"station": "Line 3", "task": "packing"}}, ALICE)
    assert answer["status"] == "success", answer
    assert status(service, answer["job_id"])["status"] == "completed"
    return service, store, answer["job_id"]


def status(service, job_id: str, caller: Caller = ALICE) -> dict:
    answer = service.handle("get_status", {"job_id": job_id}, caller)
    assert answer["status"] == "success", answer
    return answer["job_status"]


def rescored(service, caller: Caller = ALICE, **params) -> dict:
    """A re-score that must succeed: the new job's status."""
    answer = service.handle("rescore_job", params, caller)
    assert answer["status"] == "success", answer
    assert answer["rescored_from"] == params["job_id"]
    view = status(service, answer["job_id"], caller)
    assert view["status"] == "completed", view.get("error")
    return view


def result_of(store, job_id: str):
    return load_result(store.get(f"{results_prefix(job_id)}result.pkl").body)


def fingerprint(store, job_id: str) -> dict[str, str]:
    """Every file under the job's results, by the SHA-256 of its bytes."""
    return {info.key: hashlib.sha256(store.get(info.key).body).hexdigest() for info in store.list(results_prefix(job_id))}


@pytest.fixture
def no_pose_model(monkeypatch):
    """Any attempt to load a pose model or analyse a video fails the test."""
    import pipeline.analysis
    import pipeline.pose

    def refuse(*args, **kwargs):
        raise AssertionError("a re-score ran the pose model")

    monkeypatch.setattr(pipeline.pose, "load_pose_model", refuse)
    monkeypatch.setattr(pipeline.analysis, "analyze_chunks", refuse)


def test_a_rescore_with_the_same_details_gives_the_same_scores_without_the_pose_model(analysed_job, no_pose_model, monkeypatch):
    from pipeline.pose.blazeface import FaceDetector

    service, store, original_id = analysed_job
    searched = []
    search = FaceDetector.faces
    monkeypatch.setattr(FaceDetector, "faces", lambda self, image, *args: searched.append(image.shape) or search(self, image, *args))
    view = rescored(service, job_id=original_id)
    first = status(service, original_id)
    assert [p["frame_index"] for p in view["pictures"]] == [p["frame_index"] for p in first["pictures"]]
    assert searched == [], "the faces the analysis found in the same frames are not searched for again"
    assert store.exists(faces_key(original_id)) and "frames/faces.json" not in service.app.jobs.read(original_id).doc.result_keys
    assert [p["face_blurred"] for p in view["pictures"]] == [p["face_blurred"] for p in first["pictures"]]
    assert view["rescored_from"] == original_id and view["time_range"] is None
    original, again = result_of(store, original_id), result_of(store, view["job_id"])
    assert again.job_id == view["job_id"] and again.inputs.assumed == original.inputs.assumed  # its own details kept
    for method in ("rula", "reba"):
        for name, column in getattr(original, method).columns().items():
            assert np.array_equal(column, getattr(again, method).columns()[name], equal_nan=True), f"{method}.{name}"
    assert again.summary == original.summary and again.angles.keys() == original.angles.keys()
    # asked again (a retry after a lost answer): the same job, listed once on the original
    assert service.handle("rescore_job", {"job_id": original_id}, ALICE)["job_id"] == view["job_id"]
    assert status(service, original_id)["rescores"].count(view["job_id"]) == 1


def test_new_task_details_make_a_full_new_result_linked_both_ways(analysed_job, no_pose_model):
    service, store, original_id = analysed_job
    before = status(service, original_id)["summary"]["reba"]
    view = rescored(service, job_id=original_id, params={"load_kg": 12, "coupling": 3, "trunk_twisted": True})
    result = result_of(store, view["job_id"])
    assert result.inputs.assumed.load_kg == 12 and result.inputs.assumed.coupling == 3  # replaced whole: coupling 1 is gone
    assert view["summary"]["reba"]["max"] > before["max"], "a 12 kg load, poor coupling and a twist raise REBA"
    assert view["summary"]["verdict"]["status"] and "what_to_change" in view["summary"]
    assert set(view["artifacts"]) == set(FILES) - {"mp4"}, "every file but the annotated video"
    assert "annotated video" in view["rescore"]["note"] and original_id in view["rescore"]["note"]
    assert view["pictures"], "the video is stored: the pictures are drawn again"
    worst = {moment["frame_index"] for moment in view["summary"]["reba"]["worst_moments"]}
    assert worst <= {picture["frame_index"] for picture in view["pictures"]}, "pictured at the new worst moments"
    assert store.get(f"{results_prefix(view['job_id'])}report.pdf").body.startswith(b"%PDF")
    assert view["task_params"] == {"load_kg": 12, "coupling": 3, "trunk_twisted": True}
    assert view["record"]["station"] == "Line 3" and view["record"]["task"] == "packing", "the original's task record"
    assert view["job_id"] in status(service, original_id)["rescores"]
    assert store.get(f"status/{view['job_id']}.json")  # a job of its own task
    assert service.app.jobs.read(view["job_id"]).doc.task == RESCORE_TASK


def test_the_original_stays_byte_for_byte_as_it_was(analysed_job):
    service, store, original_id = analysed_job
    files, doc = fingerprint(store, original_id), service.app.jobs.read(original_id).doc
    rescored(service, job_id=original_id, params={"load_kg": 25}, start_s=1, end_s=9)
    after = service.app.jobs.read(original_id).doc
    assert fingerprint(store, original_id) == files
    assert after.result == doc.result and after.result_keys == doc.result_keys and after.state == doc.state
    assert after.finished_at == doc.finished_at and after.history == doc.history
    assert after.task == ANALYZE_TASK and after.annotations["rescores"][-1] != original_id


def test_a_time_range_keeps_only_its_frames(analysed_job, no_pose_model):
    service, store, original_id = analysed_job
    view = rescored(service, job_id=original_id, start_s=2.0, end_s=6.5)
    times = result_of(store, view["job_id"]).timestamps
    everything = result_of(store, original_id).timestamps
    assert times.min() >= 2.0 and times.max() < 6.5
    assert len(times) == int(((everything >= 2.0) & (everything < 6.5)).sum()) == view["summary"]["frames_analysed"]
    assert view["time_range"]["start_s"] == 2.0 and view["time_range"]["end_s"] == 6.5 and view["time_range"]["words"]
    # a re-score of a re-score: its own frames, and the task details it was given
    again = rescored(service, job_id=view["job_id"], start_s=3.0)
    assert result_of(store, again["job_id"]).timestamps.min() >= 3.0 and again["rescored_from"] == view["job_id"]


def test_a_video_gone_from_storage_gives_no_pictures_and_says_so(analysed_job):
    service, store, original_id = analysed_job
    key = service.app.jobs.read(original_id).doc.request.kwargs["video_key"]
    kept = store.get(key).body
    store.delete(key)
    try:
        view = rescored(service, job_id=original_id, params={"load_kg": 3})
    finally:
        store.put(key, kept)
    assert view["pictures"] == [] and NO_VIDEO in view["summary"]["warnings"] and NO_VIDEO in view["warning"]


@pytest.mark.parametrize(("params", "code", "words"), [
    ({"start_s": 5, "end_s": 5}, "invalid_input", "must come after its start"),
    ({"start_s": 8, "end_s": 3}, "invalid_input", "must come after its start"),
    ({"start_s": -1}, "invalid_input", "start_s"),
    ({"start_s": 500}, "invalid_input", "choose a start before its end"),
    ({"params": {"load_kg": -3}}, "invalid_input", "load_kg"),
])
def test_bad_requests_are_refused_in_words(analysed_job, params, code, words):
    service, _, original_id = analysed_job
    answer = service.handle("rescore_job", {"job_id": original_id, **params}, ALICE)
    assert answer["status"] == "error" and answer["code"] == code and words in answer["error"], answer


def test_what_cannot_be_rescored_is_refused(analysed_job):
    service, store, original_id = analysed_job
    other = service.handle("rescore_job", {"job_id": original_id}, BOB)
    assert other["code"] == "job_not_found" and other["error"] == service.handle("get_status", {"job_id": original_id}, BOB)["error"]
    queued = service.app.queue.enqueue(ANALYZE_TASK, [], {"video_key": "uploads/x/y.mp4"}, 0, owner=ALICE.owner)
    waiting = service.handle("rescore_job", {"job_id": queued.job_id}, ALICE)
    assert waiting["code"] == "not_ready" and "queued" in waiting["error"] and "completed" in waiting["error"]
    copy = rescored(service, job_id=original_id, params={"load_kg": 1})  # a job whose files then expire
    store.delete(f"{results_prefix(copy['job_id'])}result.pkl")
    expired = service.handle("rescore_job", {"job_id": copy["job_id"]}, ALICE)
    assert expired["code"] == "results_expired" and "expired" in expired["error"] and "analyse the video again" in expired["error"]


def test_ergo_rescore_changes_the_details_given_and_keeps_the_others(analysed_job, tmp_path):
    service, store, original_id = analysed_job
    process, url = serve(store, tmp_path)
    try:
        run = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "rescore", original_id, "--load-kg", "8", "--start", "1",
                              "--end", "7", "--wait", "--quiet", "--poll", "0.2", "--url", url, "--out", str(tmp_path / "out")],
                             env=storage_env(store), capture_output=True, text=True, timeout=180)
        refused = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "rescore", original_id, "--start", "4", "--end", "2",
                                  "--url", url], env=storage_env(store), capture_output=True, text=True, timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout.strip().splitlines()[-1])
    result = load_result(tmp_path / "out" / "result.pkl")
    assert result.job_id == printed["job_id"] != original_id
    assert result.inputs.assumed.load_kg == 8 and result.inputs.assumed.coupling == 1, "the original's coupling stays"
    assert result.timestamps.min() >= 1 and result.timestamps.max() < 7
    assert (tmp_path / "out" / "report.pdf").is_file() and (tmp_path / "out" / "report.xlsx").is_file()
    assert printed["job_id"] in status(service, original_id)["rescores"]
    assert refused.returncode == 2 and "must come after its start" in refused.stderr


def test_remembered_faces_answer_from_memory_and_survive_a_round_trip():
    from pipeline.face_memory import RememberedFaces
    from pipeline.pose.blazeface import Face

    class Detector:
        calls = 0

        def faces(self, image):
            Detector.calls += 1
            return [Face(0.9, np.array([1.0, 2.0, 30.0, 40.0]), np.zeros((6, 2)))] if image.mean() > 100 else []

    bright, dark = np.full((8, 8, 3), 200, np.uint8), np.zeros((8, 8, 3), np.uint8)
    memory = RememberedFaces(Detector())
    assert len(memory.faces(bright)) == 1 and memory.faces(dark) == [] and memory.faces(bright.copy())[0].score == 0.9
    assert Detector.calls == 2 and memory.searched == 2
    again = RememberedFaces(Detector(), memory.to_bytes())
    assert again.faces(bright)[0].box.tolist() == [1.0, 2.0, 30.0, 40.0] and again.faces(dark) == [] and again.searched == 0
    assert RememberedFaces(Detector(), b"not json").found == {}, "unreadable: the frames are searched again"
