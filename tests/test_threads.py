"""Threading that cannot collapse: a worker sizes Torch's threads to the cores it may use and lets idle OpenMP
threads sleep.

Torch's default (threads that spin while they wait) slowed the landmark network from 16 ms to 1.7 s per crop on
a busy 2-core machine; `benchmarks/pipeline_bench.py --threads` measures the slowdown beside a busy process."""

from __future__ import annotations

import os
import subprocess
import sys

from ergo_tasks.analysis.settings import AnalysisSettings, usable_cores

START_LIKE_A_WORKER = ("from ergo_tasks import bootstrap; from ergo_tasks.analysis import TASK_MODULES; "
                       "bootstrap.start(TASK_MODULES); import os, torch; "
                       "print(os.environ['OMP_WAIT_POLICY'], os.environ['OMP_NUM_THREADS'], torch.get_num_threads())")


def fresh_process(code: str, tmp_path, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "ERGO_"))}
    done = subprocess.run([sys.executable, "-c", code], env={**clean, "ERGO_DATA_DIR": str(tmp_path), **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_a_worker_sizes_torch_to_its_cores_and_lets_idle_threads_sleep(tmp_path):
    expected = str(usable_cores())
    assert fresh_process(START_LIKE_A_WORKER, tmp_path)[-3:] == ["PASSIVE", expected, expected]
    # an operator's choice wins: the settings, and OMP_WAIT_POLICY where it is already set
    told = fresh_process(START_LIKE_A_WORKER, tmp_path, ERGO_TORCH_THREADS="1", OMP_WAIT_POLICY="ACTIVE")
    assert told[-3:] == ["ACTIVE", "1", "1"]


def test_the_pose_settings_carry_the_threads_and_loading_applies_them(tmp_path, monkeypatch):
    monkeypatch.delenv("ERGO_TORCH_THREADS", raising=False)
    assert AnalysisSettings().pose("keypointrcnn", "random").threads == usable_cores()
    assert AnalysisSettings(torch_threads=2).pose("keypointrcnn", "random").threads == 2
    # BlazePose reads one crop at a time: one thread, unless told otherwise
    assert AnalysisSettings().pose("blazepose").threads == 1 and AnalysisSettings(torch_threads=2).pose("blazepose").threads == 2
    code = ("import torch; torch.set_num_threads(4); from pipeline.pose import PoseSettings, load_pose_model; "
            "load_pose_model(PoseSettings(model='keypointrcnn', weights='random', threads=1)); print(torch.get_num_threads())")
    assert fresh_process(code, tmp_path)[-1] == "1"


def test_a_cached_model_gets_its_own_threads_back_after_another_model_ran(tmp_path):
    """A worker runs a keypointrcnn job, a BlazePose job, then keypointrcnn again from the cache: the third runs on
    keypointrcnn's threads, not BlazePose's one (results would depend on the worker's history)."""
    code = ("import torch; from pipeline.pose import PoseSettings, load_pose_model, register_model; "
            "register_model('stub')(lambda settings: object()); "
            "many, one = PoseSettings(model='keypointrcnn', weights='random', threads=2), PoseSettings(model='stub', threads=1); "
            "first = load_pose_model(many); load_pose_model(one); again = load_pose_model(many); "
            "print(again is first, torch.get_num_threads())")
    assert fresh_process(code, tmp_path)[-2:] == ["True", "2"]
