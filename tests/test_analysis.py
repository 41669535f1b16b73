"""The analysis job end to end, with random weights on tiny generated videos."""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from ergo_tasks import State
from ergo_tasks.analysis import ANALYZE_TASK, register
from ergo_tasks.analysis.keys import OPERATOR, upload_key
from pipeline.errors import PoseModelUnavailable
from pipeline.results import UnsafeResult, load_result
from pipeline.synthetic import make_video
from tests.helpers import make_app, storage_env

RANDOM = {"quality": "low", "model": "keypointrcnn", "weights": "random", "chunk_size": 2}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("clip") / "station.mp4", frames=40, width=96, height=64, fps=10)


def submit(store, video, **kwargs):
    app = make_app(store)
    register(app)
    key = upload_key(video.name)
    store.upload_file(key, video)
    return app, app.send_task(ANALYZE_TASK, kwargs={"video_key": key, **RANDOM, **kwargs})


def _run(app, job):
    app.run_until_ready(job.id, "test-worker")
    return job.status_doc


def test_analysis_job_writes_loadable_result_files_and_pictures(store, clip, tmp_path):
    app, job = submit(store, clip)
    doc = _run(app, job)
    assert doc.state == State.SUCCESS, doc.error
    pictures = {name for name in doc.result_keys if name.startswith("frames/")}
    assert set(doc.result_keys) - pictures == {"pkl", "json", "csv", "xlsx", "pdf", "skeleton"}
    assert pictures == {f"frames/{p['file']}" for p in doc.result["pictures"]} and pictures  # listed in the result too
    assert all(key.startswith(f"results/{job.id}/") for key in doc.result_keys.values())
    assert doc.checkpoint.startswith(f"checkpoints/{job.id}/chunk-")
    assert list(store.list(f"checkpoints/{job.id}/")) == []  # a finished analysis needs its checkpoints no more
    for artifact, key in doc.result_keys.items():
        if artifact not in pictures:
            store.download_file(key, tmp_path / f"result.{artifact}")
    assert store.get(doc.result_keys[min(pictures)]).body[:3] == b"\xff\xd8\xff"  # a JPEG
    result = load_result(tmp_path / "result.pkl")
    frames = len(result.frame_indices)
    assert frames == 8 and result.keypoints.shape == (8, 17, 3)
    assert result.model.warning.startswith("RANDOM WEIGHTS")
    assert result.preset.name == "low" and result.video.frame_count == 40
    summary = json.loads((tmp_path / "result.json").read_text())
    assert summary["summary"]["frames_analysed"] == 8 and "assumed" in summary["inputs"]
    assert doc.result["summary"] == summary["summary"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "result.csv").read_text())))
    assert len(rows) == 8 and {"time_s", "trunk_flexion", "rula_grand_score", "reba_reba_score"} <= set(rows[0])
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "result.xlsx", read_only=True)
    assert book.sheetnames == ["Summary", "Frames", "Charts"]
    assert sum(1 for _ in book["Frames"].iter_rows()) == 9
    charts = load_workbook(tmp_path / "result.xlsx")["Charts"]._charts  # native charts, drawn from the Frames sheet
    header = rows[0].keys()
    assert [chart.title.tx.rich.p[0].r[0].t for chart in charts] == [
        "RULA body-part scores", "REBA body-part scores", "RULA grand score and REBA score"]
    from openpyxl.utils import column_index_from_string

    names = list(header)
    plotted = [[names[column_index_from_string(series.tx.strRef.f.split("!")[1].rstrip("1").replace("$", "")) - 1]
                for series in chart.series] for chart in charts]
    parts = ("upper_arm", "lower_arm", "wrist", "neck", "trunk", "legs")
    assert sorted(plotted[0]) == sorted(f"rula_{part}" for part in parts)
    assert sorted(plotted[1]) == sorted(f"reba_{part}" for part in parts)
    assert plotted[2] == ["rula_grand_score", "reba_reba_score"]


def test_a_job_that_asks_gets_the_annotated_video(local_store, clip, tmp_path):
    from pipeline.video import probe

    app, job = submit(local_store, clip, overlay=True)
    doc = _run(app, job)
    assert doc.state == State.SUCCESS, doc.error
    local_store.download_file(doc.result_keys["mp4"], tmp_path / "overlay.mp4")
    assert probe(tmp_path / "overlay.mp4").frame_count == doc.result["summary"]["frames_analysed"]


def test_damaged_chunks_become_gaps_and_the_rest_is_analysed(local_store, tmp_path):
    rng = np.random.default_rng(0)
    video = make_video(tmp_path / "noisy.mp4", frames=90, width=96, height=64, fps=15, gop=10,
                       scene=lambda i, w, h: rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    data = bytearray(video.read_bytes())
    data[len(data) // 2: len(data) // 2 + 20000] = bytes(20000)
    video.write_bytes(data)
    app, job = submit(local_store, video, quality="high")
    doc = _run(app, job)
    assert doc.state == State.SUCCESS
    summary = doc.result["summary"]
    assert summary["damaged_spans"] and "could not be decoded" in summary["damaged_spans"][0]
    assert 0 < summary["frames_with_person"] < summary["frames_analysed"]
    # the evidence is made around the damage too: the annotated video (on at high) keeps every analysed frame
    local_store.download_file(doc.result_keys["mp4"], tmp_path / "overlay.mp4")
    from pipeline.video import probe

    assert probe(tmp_path / "overlay.mp4").frame_count == summary["frames_analysed"]


def test_a_video_without_one_readable_frame_fails_with_a_clear_error(local_store, clip, monkeypatch):
    from pipeline.video import FrameReader

    def damaged(self, reader, indices):
        raise RuntimeError("Error sending packet")  # what decord says of a frame it cannot decode (PyAV fails too)

    monkeypatch.setattr(FrameReader, "_read_with", damaged)
    app, job = submit(local_store, clip)
    doc = _run(app, job)
    assert doc.state == State.FAILURE
    assert doc.error.message.startswith("No frame of the video could be decoded: the file is damaged.")
    assert doc.error.expected and doc.attempts == 1  # an expected failure: not retried
    assert list(local_store.list(f"results/{job.id}/")) == []


@pytest.mark.parametrize("kwargs,message", [
    ({"video_key": "status/../secret"}, "must name an uploaded video"),
    ({"video_key": "uploads/nothing-here/x.mp4"}, "no longer exists"),
    ({"quality": "ultra"}, "Unknown quality 'ultra'"),
    ({"params": {"load_kg": -3}}, "Invalid analysis settings"),
    ({"params": {"unknown_flag": True}}, "Invalid analysis settings"),
    ({"model": "keypointrcnn", "weights": "/nonexistent/weights.pth"}, "ERGO_POSE_WEIGHTS"),
    ({"model": "blazepose", "weights": "/etc/passwd"}, "BlazePose comes as lite, full or heavy"),
])
def test_bad_requests_fail_with_a_clear_message(local_store, clip, kwargs, message):
    app, job = submit(local_store, clip, **kwargs)
    doc = _run(app, job)
    assert doc.state == State.FAILURE
    assert message in doc.error.message and "Traceback" not in doc.error.message
    assert doc.attempts == 1  # a bad request is not retried
    assert list(local_store.list(f"results/{job.id}/")) == []


def test_missing_blazepose_models_say_how_to_fetch_them(local_store, clip, tmp_path, monkeypatch):
    monkeypatch.setenv("ERGO_MODELS_DIR", str(tmp_path / "no-models"))
    app, job = submit(local_store, clip, model="blazepose", weights=None)
    doc = _run(app, job)
    assert doc.state == State.FAILURE and "ergo models fetch" in doc.error.message
    assert str(tmp_path) not in doc.error.message  # no server paths in what clients see


def test_a_non_video_upload_fails_clearly(local_store, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    app, job = submit(local_store, text)
    doc = _run(app, job)
    assert doc.state == State.FAILURE and doc.error.message.startswith("The file is not a readable video")


# -- the result file ---------------------------------------------------------------------
class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_the_result_loader_refuses_code_and_foreign_data(tmp_path):
    with pytest.raises(UnsafeResult, match="refers to"):
        load_result(pickle.dumps({"format": "ergo-result", "version": 1, "x": _Exploit()}))
    with pytest.raises(UnsafeResult, match="not an ergo result"):
        load_result(pickle.dumps([1, 2, 3]))
    with pytest.raises(UnsafeResult, match="not a readable result"):
        load_result(os.urandom(200))
    with pytest.raises(UnsafeResult, match="version 9"):
        load_result(pickle.dumps({"format": "ergo-result", "version": 9}))


# -- weights ------------------------------------------------------------------------------
def test_weights_load_from_a_local_file(tmp_path):
    import torch

    from pipeline.pose.keypointrcnn import KeypointRCNN

    random_model = KeypointRCNN("random", device="cpu", precision="fp32")
    path = tmp_path / "keypointrcnn.pth"
    torch.save(random_model.model.state_dict(), path)
    from_file = KeypointRCNN(str(path), device="cpu", precision="fp32")
    from_file.min_person_score = 0.0
    frames = np.random.default_rng(0).integers(0, 255, (2, 64, 96, 3), dtype=np.uint8)
    assert from_file.describe()["weights"] == "keypointrcnn.pth" and "warning" not in from_file.describe()
    np.testing.assert_array_equal(random_model.model.state_dict()["roi_heads.keypoint_predictor.kps_score_lowres.weight"],
                                  from_file.model.state_dict()["roi_heads.keypoint_predictor.kps_score_lowres.weight"])
    assert from_file.predict(frames).boxes.shape == (2, 5, 5)


def test_missing_weights_name_both_ways_to_provide_them(monkeypatch, tmp_path):
    import urllib.error

    import torch.hub

    from pipeline.pose.keypointrcnn import KeypointRCNN

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.delenv("ERGO_POSE_WEIGHTS", raising=False)
    with pytest.raises(PoseModelUnavailable) as caught:
        KeypointRCNN("default", device="cpu")
    assert "internet" in str(caught.value) and "ERGO_POSE_WEIGHTS" in str(caught.value) and "--weights" in str(caught.value)
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"not weights")
    with pytest.raises(PoseModelUnavailable, match="could not be read"):
        KeypointRCNN(str(bogus), device="cpu")


# -- the command ----------------------------------------------------------------------------
def test_ergo_analyze_writes_the_files_and_prints_a_summary(local_store, clip, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "analyze", str(clip), "--quality", "low",
                             "--model", "keypointrcnn", "--weights", "random", "--chunk-size", "4", "--out", str(out),
                             "--load-kg", "12.5", "--coupling", "2", "--sitting", "--no-legs-supported"],
                            env=storage_env(local_store), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["frames", "frames.csv", "report.pdf", "report.xlsx", "result.pkl", "skeleton.json",
                                                     "summary.json"]
    assert "PDF report:" in result.stdout and "Posture pictures (" in result.stdout
    assert "RULA: max" in result.stdout and "REBA: max" in result.stdout and "Verdict: " in result.stdout
    assert "MEANINGLESS" in result.stderr
    saved = load_result(out / "result.pkl")
    assert saved.summary.frames_analysed == 8
    assumed = saved.inputs.assumed  # the task details given on the command line are what was scored with
    assert (assumed.load_kg, assumed.coupling, assumed.sitting, assumed.legs_supported) == (12.5, 2, True, False)
    assert saved.video.name == clip.name
    assert [doc.owner for doc in make_app(local_store).jobs.recent()] == [OPERATOR]  # the CLI's job has an owner


def test_ergo_analyze_refuses_task_details_the_worksheets_do_not_have(local_store, clip):
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "analyze", str(clip), "--coupling", "7"],
                            env=storage_env(local_store), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Invalid task details: coupling" in result.stderr and "Traceback" not in result.stderr


def test_ergo_analyze_refuses_a_missing_file(local_store, tmp_path):
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "analyze", str(tmp_path / "nope.mp4")],
                            env=storage_env(local_store), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
