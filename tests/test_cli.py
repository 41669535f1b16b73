"""`ergo jobs ...` and `ergo worker`, as a person runs them, against both backends."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from ergo_tasks import State
from ergo_tasks.jobstore import JobStore
from ergo_tasks.timeutil import utcnow
from tests.helpers import make_app, storage_env


def ergo(store, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ergo_tasks.cli", *args], env=storage_env(store, **env),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def app_with_jobs(store):
    app = make_app(store)

    @app.task(name="demo.ok")
    def ok():
        return "fine"

    @app.task(name="demo.bad", max_retries=0)
    def bad():
        raise ValueError("boom")

    return app, ok.delay(), bad.delay()


def test_jobs_list_prints_a_table_and_json(store, app_with_jobs):
    _, ok, bad = app_with_jobs
    table = ergo(store, "jobs", "list")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["JOB_ID", "TASK", "STATE"]
    assert lines[1].startswith(bad.id) and lines[2].startswith(ok.id)  # newest first
    listed = json.loads(ergo(store, "jobs", "list", "--state", "failure", "--json").stdout)
    assert [doc["job_id"] for doc in listed] == [bad.id]


def test_jobs_show_cancel_and_resume(store, app_with_jobs):
    app, ok, bad = app_with_jobs
    shown = ergo(store, "jobs", "show", bad.id)
    assert "FAILURE" in shown.stdout and "history:" in shown.stdout and "ValueError" in shown.stdout
    assert json.loads(ergo(store, "jobs", "show", ok.id, "--json").stdout)["result"] == "fine"

    resumed = ergo(store, "jobs", "resume", bad.id)
    assert resumed.returncode == 0 and "PENDING" in resumed.stdout
    cancelled = ergo(store, "jobs", "cancel", bad.id)
    assert cancelled.returncode == 0 and bad.status_doc.state == State.REVOKED

    refused = ergo(store, "jobs", "cancel", ok.id)
    assert refused.returncode == 2 and "already finished" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("job_id,message", [("../../etc/passwd", "not a valid job id"),
                                             ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "no job with id")])
def test_bad_job_ids_give_a_clear_error(store, job_id, message):
    result = ergo(store, "jobs", "show", job_id)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_purge_is_a_dry_run_unless_told_yes(store, app_with_jobs):
    app, ok, bad = app_with_jobs
    store.put(f"results/{ok.id}/summary.json", b"{}")
    store.put(f"checkpoints/{ok.id}/0000", b"x")
    old = app.jobs.read(ok.id)
    app.jobs.write(old, old.doc.updated(finished_at=utcnow() - timedelta(days=10)))

    dry = ergo(store, "jobs", "purge", "--older-than", "7")
    assert dry.returncode == 0 and f"would delete {ok.id}" in dry.stdout and bad.id not in dry.stdout
    assert store.exists(JobStore.status_key(ok.id))

    real = ergo(store, "jobs", "purge", "--older-than", "7", "--yes")
    assert real.returncode == 0 and f"deleted {ok.id}" in real.stdout
    assert not store.exists(JobStore.status_key(ok.id)) and store.exists(JobStore.status_key(bad.id))
    assert list(store.list(f"results/{ok.id}/")) == [] and list(store.list(f"checkpoints/{ok.id}/")) == []


def test_missing_bucket_is_a_clear_cli_error(s3_store):
    s3_store.bucket = "bucket-that-is-not-there"
    result = ergo(s3_store, "jobs", "list")
    assert result.returncode == 2
    assert "bucket-that-is-not-there" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "ergo"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "worker" in result.stdout and "jobs" in result.stdout


def test_purge_keeps_a_video_another_job_still_needs_and_a_job_resumed_meanwhile(store):
    from ergo_tasks.analysis.retention import purge_job
    from statestore import PreconditionFailed

    app = make_app(store, eager=False)
    video = "uploads/" + "b" * 32 + "/shared.mp4"
    store.put(video, b"video")
    old = app.queue.enqueue("t", [], {"video_key": video}, 0)
    waiting = app.queue.enqueue("t", [], {"video_key": video}, 0)  # queued: it will need the video
    claimed = app.queue.claim("w", job_id=old.job_id)
    app.queue.finish(old.job_id, claimed.doc.lease, State.SUCCESS, reason="done")
    assert purge_job(app, old.job_id)
    assert not store.exists(JobStore.status_key(old.job_id)) and store.exists(video)

    app.queue.revoke(waiting.job_id)
    seen = app.jobs.read(waiting.job_id)
    app.queue.resume(waiting.job_id)  # an operator resumes it while a purge holds the old version
    with pytest.raises(PreconditionFailed):
        app.jobs.delete(seen)
    assert not purge_job(app, waiting.job_id)  # unfinished now: purge leaves it alone
    assert store.exists(JobStore.status_key(waiting.job_id)) and store.exists(video)


@pytest.mark.parametrize("command", ["analyze", "submit"])
def test_the_camera_angle_is_a_task_param_of_analyze_and_submit(command, tmp_path, local_store):
    """Issue 23: the camera's angle, where the person filming knows it, overrides the estimate; the flags come from
    the task details' model, checked by it (both or neither, within range) before anything is uploaded or run."""
    from ergo_tasks.cli import parser
    from ergo_tasks.cli.task_details import task_details

    args = parser().parse_args([command, "clip.mp4", "--camera-pitch", "-12.5", "--camera-roll", "3"])
    assert task_details(args) == {"camera_pitch": -12.5, "camera_roll": 3.0}
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    for flags, words in ((["--camera-pitch", "20"], "go together"), (["--camera-pitch", "95", "--camera-roll", "0"], "camera_pitch")):
        result = ergo(local_store, command, str(video), *flags, *(["--url", "http://127.0.0.1:9"] if command == "submit" else []))
        assert result.returncode == 2 and "Invalid task details" in result.stderr and words in result.stderr, result.stderr[-500:]
        assert "Traceback" not in result.stderr


def test_the_demos_timeline_shows_ranges_where_a_body_part_was_out_of_view():
    from ergo_tasks.analysis.demo import risk_timeline, timeline_words

    nan = float("nan")
    times = np.arange(8) * 0.5
    exact = np.array([3, 2, 3, nan, nan, nan, nan, nan])  # 0-1 s: scored; 1-2 s: partly ranged; 2-3 s: ranged; 3-4 s: nobody
    highest = np.array([3, 2, 3, 7, 6, 6, nan, nan])
    timeline = risk_timeline(times, exact, highest, step=1.0)
    assert timeline == [(0.0, 3.0, 3.0), (1.0, 3.0, 7.0), (2.0, None, 6.0), (3.0, None, None)]
    assert timeline_words(timeline) == "0s:3, 1s:3-7, 2s:≤6, 3s:-"
