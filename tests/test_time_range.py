"""A time range (a task cycle): only the frames shown within it are analysed, from the API, the CLI and the worker,
in one piece or in parts, and the result, the report and the workbook say which part it was."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys

import numpy as np
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from ergo_tasks import State
from ergo_tasks.analysis import ANALYZE_TASK, AnalysisSettings, register
from ergo_tasks.analysis.keys import upload_key
from ergo_tasks.cli import analyze as analyze_cli
from ergo_tasks.cli import main, parser
from ergo_tasks.cli import submit as submit_cli
from ergo_tasks.service.requests import StartRequest
from pipeline.analysis import AnalysisOptions, Plan, fingerprint
from pipeline.presets import get_preset
from pipeline.results import load_result
from pipeline.synthetic import make_video
from pipeline.time_range import RangeOutsideVideo, TimeRange, parse_time, range_words, within
from tests.helpers import make_app, storage_env

# 60 frames at 10 fps (6 s), sampled twice a second at `low`: frames 0, 5, 10, ... at 0.0, 0.5, 1.0, ... s
RANDOM = {"quality": "low", "model": "keypointrcnn", "weights": "random", "chunk_size": 2}
FPS, SAMPLED_EVERY_S = 10, 0.5


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("clip") / "cycle.mp4", frames=60, width=96, height=64, fps=FPS)


def run_job(store, clip, part_chunks: int = 0, **kwargs):
    app = make_app(store, eager=False)
    register(app, AnalysisSettings(part_chunks=part_chunks))
    key = upload_key(clip.name)
    store.upload_file(key, clip)
    job = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, **RANDOM, **kwargs})
    return app.run_until_ready(job.id, "worker-1")


def result_file(store, doc) -> dict:
    return pickle.loads(store.get(doc.result_keys["pkl"]).body)


def workbook_summary(store, doc) -> dict:
    """The workbook's summary sheet, label to value."""
    sheet = load_workbook(io.BytesIO(store.get(doc.result_keys["xlsx"]).body), read_only=True)["Summary"]
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if len(row) > 1}


# -- the rule, the same everywhere --------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "words"), [
    ({"start_s": 5, "end_s": 3}, "must come after its start"),
    ({"start_s": 4, "end_s": 4}, "must come after its start"),
    ({"start_s": -1}, "greater than or equal to 0"),
    ({"end_s": 0}, "greater than 0"),
    ({"end_s": "inf"}, "finite number"),
    ({"start_s": "soon"}, "valid number"),
])
def test_the_api_refuses_a_range_that_is_not_one_in_words(fields, words):
    with pytest.raises(ValueError, match=words):
        StartRequest(video_key="uploads/a.mp4", **fields)


def test_the_api_takes_a_range_or_none_and_makes_it_the_jobs_arguments():
    assert StartRequest(video_key="uploads/a.mp4").range_kwargs() == {}
    assert StartRequest(video_key="uploads/a.mp4", start_s=12, end_s=47.5).range_kwargs() == {"start_s": 12.0, "end_s": 47.5}
    assert StartRequest(video_key="uploads/a.mp4", end_s=30).range_kwargs() == {"start_s": 0.0, "end_s": 30.0}
    assert StartRequest(video_key="uploads/a.mp4", start_s=30).range_kwargs() == {"start_s": 30.0}


def test_the_service_puts_the_range_in_the_job_and_two_ranges_are_two_jobs(local_store, clip):
    from ergo_tasks.service.actions import build_service
    from ergo_tasks.service.requests import Caller
    from ergo_tasks.service.settings import ServiceSettings

    app = make_app(local_store, eager=False)
    register(app, AnalysisSettings())
    service = build_service(app, ServiceSettings(dispatch_mode="worker"))
    key = upload_key(clip.name)
    local_store.upload_file(key, clip)
    caller = Caller()
    first = service.handle("start_processing", {"video_key": key, "quality": "low", "start_s": 1, "end_s": 3}, caller)
    again = service.handle("start_processing", {"video_key": key, "quality": "low", "start_s": 1, "end_s": 3}, caller)
    other = service.handle("start_processing", {"video_key": key, "quality": "low", "start_s": 2, "end_s": 3}, caller)
    assert first["job_id"] == again["job_id"] != other["job_id"]  # the range is part of what a job is
    kwargs = app.queue.statuses([first["job_id"]])[0].request.kwargs
    assert (kwargs["start_s"], kwargs["end_s"]) == (1.0, 3.0)
    refused = service.handle("start_processing", {"video_key": key, "start_s": 3, "end_s": 1}, caller)
    assert refused["status"] == "error" and "must come after its start" in refused["error"]


def test_times_are_seconds_or_minutes_and_seconds():
    assert parse_time("47.5") == 47.5 and parse_time("0:12") == 12 and parse_time("2:10") == 130 and parse_time("1:00:05") == 3605
    for bad in ("", "1:75", "-3", "a:10", "1:2:3:4"):
        with pytest.raises(ValueError, match="is not a time"):
            parse_time(bad)


def test_the_words_say_the_part_and_the_whole():
    assert range_words(12, 47.5, 130) == "analysed 12.0 s – 47.5 s of 2 min 10 s"
    assert range_words(1, 3, 6) == "analysed 1.0 s – 3.0 s of 6.0 s"
    assert "ended at 9.0 s, after the video's end" in range_words(1, 6, 6, asked_end_s=9)


# -- the plan: only the span is decoded and analysed ------------------------------------------------------------
def test_the_plan_holds_only_the_frames_within_the_range_the_whole_analysis_samples_there(clip):
    options = AnalysisOptions(get_preset("low"), chunk_size=2)
    whole = Plan.of(clip, options)
    part = Plan.of(clip, AnalysisOptions(get_preset("low"), chunk_size=2, time_range=TimeRange(2.0, 4.5)))
    times = part.indices / FPS
    assert times.min() >= 2.0 and times.max() < 4.5
    assert list(part.indices) == [index for index in whole.indices if 2.0 <= index / FPS < 4.5] == [20, 25, 30, 35, 40]
    assert [len(chunk) for chunk in part.chunks] == [2, 2, 1]  # chunked afresh: checkpoints and parts count from the range


def test_checkpoints_of_another_range_are_not_reused(clip):
    from pipeline.pose import PoseSettings, load_pose_model

    model = load_pose_model(PoseSettings(model="keypointrcnn", weights="random", device="cpu"))
    prints = {str(span): fingerprint(Plan.of(clip, AnalysisOptions(get_preset("low"), time_range=span)).info,
                                     AnalysisOptions(get_preset("low"), time_range=span), model)
              for span in (None, TimeRange(2.0, 4.5), TimeRange(2.0, 5.0), TimeRange(1.0, 4.5))}
    assert len(set(prints.values())) == 4


def test_a_range_past_the_video_is_refused_and_one_without_a_sampled_frame_too(clip):
    with pytest.raises(RangeOutsideVideo, match="only 6.0 s long"):
        Plan.of(clip, AnalysisOptions(get_preset("low"), time_range=TimeRange(7.0, 9.0)))
    with pytest.raises(RangeOutsideVideo, match="holds no analysed frame"):
        Plan.of(clip, AnalysisOptions(get_preset("low"), time_range=TimeRange(2.1, 2.4)))
    assert list(within(np.arange(0, 60, 5), FPS, TimeRange(5.0))) == [50, 55]  # no end: to the video's end


# -- the job: the span analysed, recorded and said ------------------------------------------------------------------
@pytest.mark.slow  # two analyses of the clip with the stand-in pose model
def test_a_job_analyses_only_its_range_and_the_result_report_and_workbook_say_so(local_store, clip):
    doc = run_job(local_store, clip, start_s=2.0, end_s=4.5)
    assert doc.state == State.SUCCESS, doc.error
    result = result_file(local_store, doc)
    assert list(result["frame_indices"]) == [20, 25, 30, 35, 40]
    assert np.all((result["timestamps"] >= 2.0) & (result["timestamps"] < 4.5))
    summary = doc.result["summary"]
    assert summary["frames_analysed"] == 5
    for method in ("rula", "reba"):  # each frame stands for the sampling step: the span's 2.5 s at most
        levels = summary[method]["levels"].values()
        assert sum(level["frames"] for level in levels) == summary[method]["scored_frames"]
        assert sum(level["seconds"] for level in levels) == pytest.approx(SAMPLED_EVERY_S * summary[method]["scored_frames"])
        assert summary[method]["scored_frames"] <= 5
        assert all(2.0 <= moment["time_s"] < 4.5 for moment in summary[method]["worst_moments"])
    for bands in summary["time_in_band"].values():
        assert sum(band["seconds"] for band in bands.values()) <= 2.5 + 1e-6
    spans = [*summary["person_missing_spans"], *((run["start_s"], run["end_s"]) for run in summary["sustained_postures"])]
    assert all(2.0 <= start <= end <= 4.5 for start, end in spans)
    assert doc.result["time_range"] == {"start_s": 2.0, "end_s": 4.5, "asked_end_s": None}
    words = "analysed 2.0 s – 4.5 s of 6.0 s"
    pdf = "".join(page.extract_text() for page in PdfReader(io.BytesIO(local_store.get(doc.result_keys["pdf"]).body)).pages)
    assert words in " ".join(pdf.split())
    assert workbook_summary(local_store, doc)["Part analysed"] == words

    whole = run_job(local_store, clip)
    assert whole.result["time_range"] is None and whole.result["summary"]["frames_analysed"] == 12
    assert workbook_summary(local_store, whole)["Part analysed"] == "the whole video"


@pytest.mark.slow
def test_an_end_past_the_video_is_clipped_and_said_and_a_start_past_it_fails_the_job_in_words(local_store, clip):
    clipped = run_job(local_store, clip, start_s=4.0, end_s=100.0)
    assert clipped.state == State.SUCCESS, clipped.error
    assert clipped.result["time_range"] == {"start_s": 4.0, "end_s": 6.0, "asked_end_s": 100.0}
    assert list(result_file(local_store, clipped)["frame_indices"]) == [40, 45, 50, 55]
    from ergo_tasks.service.settings import ServiceSettings
    from ergo_tasks.service.views import JobViews

    view = JobViews(make_app(local_store, eager=False), ServiceSettings()).status(clipped)
    assert view["time_range"]["words"] == "analysed 4.0 s – 6.0 s of 6.0 s (the range asked for ended at 100.0 s, after the video's end)"
    failed = run_job(local_store, clip, start_s=30.0)
    assert failed.state == State.FAILURE and "starts at 30 s, but the video is only 6.0 s long" in failed.error.message


@pytest.mark.slow  # the range twice, once in parts
def test_a_range_analysed_in_parts_gives_the_result_of_one_run(local_store, clip):
    app = make_app(local_store, eager=False)
    register(app, AnalysisSettings(part_chunks=1))
    key = upload_key(clip.name)
    local_store.upload_file(key, clip)
    span = {"start_s": 1.0, "end_s": 4.0}  # 6 frames, 3 chunks of 2: 3 parts of one chunk
    one = app.run_until_ready(app.send_task(ANALYZE_TASK, kwargs={"video_key": key, **RANDOM, **span, "split": False}).id, "w-1")
    job = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, **RANDOM, **span})
    done = app.run_until_ready(job.id, "w-2")
    assert done.state == State.SUCCESS, done.error
    pieces = app.queue.statuses(done.waiting_for)
    assert [piece.request.kwargs["part"] for piece in pieces] == [[0, 1], [1, 2], [2, 3]]
    assert all(piece.request.kwargs["start_s"] == 1.0 and piece.request.kwargs["end_s"] == 4.0 for piece in pieces)
    ours, theirs = result_file(local_store, done), result_file(local_store, one)
    assert list(ours["frame_indices"]) == list(theirs["frame_indices"]) == [10, 15, 20, 25, 30, 35]
    assert np.array_equal(ours["keypoints"], theirs["keypoints"], equal_nan=True)
    assert done.result["summary"] == one.result["summary"] and done.result["time_range"] == one.result["time_range"]


# -- the command line ----------------------------------------------------------------------------------------------
def test_the_cli_takes_start_and_end_in_seconds_or_m_ss_and_refuses_a_bad_one(capsys):
    args = parser().parse_args(["analyze", "v.mp4", "--start", "0:12", "--end", "47.5"])
    assert (args.start, args.end) == (12.0, 47.5)
    with pytest.raises(SystemExit):
        parser().parse_args(["submit", "v.mp4", "--start", "1:75"])
    assert "'1:75' is not a time" in capsys.readouterr().err


@pytest.mark.slow  # one analysis through `ergo analyze`, in its own process
def test_ergo_analyze_runs_the_range_and_says_it(local_store, clip, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "analyze", str(clip), "--quality", "low", "--model", "keypointrcnn",
                             "--weights", "random", "--out", str(out), "--start", "0:01", "--end", "3.5"],
                            env=storage_env(local_store), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Part of the video: analysed 1.0 s – 3.5 s of 6.0 s" in result.stdout
    saved = load_result(out / "result.pkl")
    assert list(saved.frame_indices) == [10, 15, 20, 25, 30] and saved.time_range.start_s == 1.0


def test_ergo_analyze_refuses_a_backwards_range_before_running(monkeypatch, clip, capsys):
    monkeypatch.setattr(analyze_cli, "follow", lambda *args, **kwargs: pytest.fail("ran"))
    assert main(["analyze", str(clip), "--start", "4", "--end", "0:02"]) == 2
    assert "must come after its start" in capsys.readouterr().err


def test_ergo_submit_sends_the_range_with_start_processing(monkeypatch, clip):
    calls = []

    class Client:
        def __init__(self, *args):
            pass

        def call(self, action, **fields):
            calls.append((action, fields))
            return {"job_id": "j1"}

    monkeypatch.setattr(submit_cli, "gateway_client", Client)
    monkeypatch.setattr(submit_cli, "upload_video", lambda *args, **kwargs: "uploads/x/cycle.mp4")
    assert main(["submit", str(clip), "--quiet", "--start", "1:02", "--end", "1:30"]) == 0
    assert calls == [("start_processing", {"video_key": "uploads/x/cycle.mp4", "quality": "medium", "blur_faces": True,
                                           "start_s": 62.0, "end_s": 90.0})]
