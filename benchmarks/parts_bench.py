"""A long video in parts across 1, 2 and 3 worker processes: the speed-up, and the same result.

    .venv/bin/python benchmarks/parts_bench.py [--ms-per-frame 40] [--seconds 600] [--workers 1 2 3]

The pose model is a stand-in of known cost (``sleeper``: sleeps per frame and
finds one person whose position follows the frame's content), so the figure is
the job system's, not the CPU's: on a 2-core machine three real models would
share two cores.  For each worker count: a fresh embedded store, ``ergo worker
--concurrency N`` started first, then one analysis job of a synthetic video
(``medium``: 3000 frames sampled from 600 s, in chunks of 32, parts of 8 chunks: 12 parts
of about 10 s of model time each; the status write interval, the per-key write limit, adds
up to 2 s to each), timed from
queueing to SUCCESS.  Prints one JSON object: seconds and speed-up per worker
count (goal: 3 workers >= 2.5x one) and whether every run's result file holds
the same arrays as the first.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.pose.base import COCO_KEYPOINTS, PoseModel, PoseOutput  # noqa: E402 - after the path is set

CHUNK_SIZE, PART_CHUNKS = 32, 8


def register(app) -> None:
    """What ``ergo worker -I benchmarks.parts_bench`` calls: the stand-in model, in the worker's process."""
    from pipeline.pose import register_model

    register_model("sleeper")(lambda settings: Sleeper(float(os.environ.get("ERGO_BENCH_MS_PER_FRAME", "40"))))


class Sleeper(PoseModel):
    """A pose model of known cost: ``ms`` per frame, one person at the greenest column (deterministic)."""

    name = "sleeper"
    keypoint_names = COCO_KEYPOINTS
    max_persons = 1
    min_person_score = 0.5
    batch_size = 8

    def __init__(self, ms: float):
        self.ms = ms

    def predict(self, frames: np.ndarray) -> PoseOutput:
        time.sleep(self.ms / 1000 * len(frames))
        out = PoseOutput.empty(len(frames), 1, len(self.keypoint_names))
        for i, frame in enumerate(frames):
            x = float(frame[..., 1].mean(axis=0).argmax())
            out.keypoints[i, 0] = [[x + k, 10.0 + 3 * k, 0.9] for k in range(len(self.keypoint_names))]
            out.boxes[i, 0] = [x, 10.0, x + 20, 60.0, 0.9]
        return out

    def describe(self) -> dict:
        return {"name": self.name, "ms_per_frame": self.ms, "batch_size": self.batch_size}


def run(workers: int, video: Path, ms: float, scratch: Path) -> tuple[float, dict]:
    from ergo_tasks import State, TaskApp, TaskSettings
    from ergo_tasks.analysis import ANALYZE_TASK, AnalysisSettings
    from ergo_tasks.analysis import register as register_analysis
    from ergo_tasks.analysis.keys import upload_key
    from statestore.local import LocalStore

    data = scratch / f"data-{workers}"
    env = {**os.environ, "STORAGE_PROVIDER": "local", "ERGO_DATA_DIR": str(data), "ERGO_POLL_SECONDS": "0.1",
           "ERGO_PART_CHUNKS": str(PART_CHUNKS), "ERGO_BENCH_MS_PER_FRAME": str(ms), "ERGO_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(REPO)}
    store = LocalStore(data / "store")
    app = TaskApp(store=store, settings=TaskSettings(eager=False))
    register_analysis(app, AnalysisSettings(part_chunks=PART_CHUNKS))
    key = upload_key(video.name)
    store.upload_file(key, video)
    fleet = subprocess.Popen([sys.executable, "-m", "ergo_tasks.cli", "worker", "--concurrency", str(workers), "-I", "benchmarks.parts_bench"],
                             env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(8)  # the workers start (imports, Torch) before the clock does
        started = time.perf_counter()
        job = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, "quality": "medium", "model": "sleeper", "chunk_size": CHUNK_SIZE})
        while not job.status_doc.ready:
            time.sleep(0.1)
        seconds = time.perf_counter() - started
    finally:
        fleet.terminate()
        fleet.wait(timeout=60)
    doc = job.status_doc
    if doc.state != State.SUCCESS:
        sys.exit(f"{workers} workers: the job ended {doc.state}: {doc.error}")
    result = pickle.loads(store.get(doc.result_keys["pkl"]).body)
    return seconds, {k: v for k, v in result.items() if k not in ("created_at", "job_id")}


def same(one, other) -> bool:
    if isinstance(one, np.ndarray):
        return np.array_equal(one, other, equal_nan=True)
    if isinstance(one, dict):
        return one.keys() == other.keys() and all(same(one[k], other[k]) for k in one)
    return one == other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ms-per-frame", type=float, default=40.0)
    parser.add_argument("--seconds", type=int, default=600, help="length of the synthetic video (600: 12 parts)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    from pipeline.synthetic import make_video

    with tempfile.TemporaryDirectory(prefix="ergo-parts-") as scratch:
        video = make_video(Path(scratch) / "shift.mp4", frames=args.seconds * 10, width=96, height=64, fps=10)
        runs = {workers: run(workers, video, args.ms_per_frame, Path(scratch)) for workers in args.workers}
    first = runs[args.workers[0]]
    frames = len(first[1]["frame_indices"])
    report = {"video_s": args.seconds, "frames": frames, "chunks": -(-frames // CHUNK_SIZE),
              "parts": -(-frames // (CHUNK_SIZE * PART_CHUNKS)), "ms_per_frame": args.ms_per_frame,
              "seconds": {workers: round(seconds, 2) for workers, (seconds, _) in runs.items()},
              "speedup": {workers: round(first[0] / seconds, 2) for workers, (seconds, _) in runs.items()},
              "identical_results": all(same(first[1], result) for _, result in runs.values())}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
