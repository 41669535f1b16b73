"""A job's scratch folder on the worker's disk, and the sweep of those a killed worker left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ergo_tasks.analysis.scratch import PREFIX, scratch_folder, sweep


def aged(folder, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(folder, (then, then))


def test_the_sweep_removes_what_a_dead_job_left_and_nothing_a_live_one_uses(tmp_path):
    killed = subprocess.run([sys.executable, "-c",
                             "import os, sys; from pathlib import Path; from ergo_tasks.analysis.scratch import scratch_folder\n"
                             f"with scratch_folder(Path({str(tmp_path)!r})) as folder:\n"
                             "    (folder / 'video.mp4').write_bytes(b'x' * 1000); print(folder, flush=True); os._exit(9)"],
                            capture_output=True, text=True, timeout=60)
    left = tmp_path / killed.stdout.strip().rsplit("/", 1)[-1]
    assert killed.returncode == 9 and (left / "video.mp4").exists()  # a killed job's process cleans nothing up
    old = tmp_path / f"{PREFIX}from-an-older-release"
    old.mkdir()
    (old / "video.mp4").write_bytes(b"x")
    young = tmp_path / f"{PREFIX}being-created"
    young.mkdir()
    unrelated = tmp_path / "someone-else"
    unrelated.mkdir()
    with scratch_folder(tmp_path) as live:
        for folder in (left, old, unrelated, live):
            aged(folder)
        assert sweep(tmp_path) == 2
        assert not left.exists() and not old.exists()
        assert live.exists() and young.exists() and unrelated.exists()  # in use, too young to judge, not ours
    assert not live.exists()  # and a job's own folder goes when it ends
