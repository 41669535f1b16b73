"""Re-scoring against analysing: a synthetic 10-minute video analysed once, then re-scored with new task details.

The video is the demo's worker (pipeline/demo.py: leaning over and straightening up every 14 s) looped for
``--minutes``.  Both jobs run through the service as a client starts them (``start_processing``, ``rescore_job``,
the inline dispatcher: each call returns once its job has finished), on an embedded store, with BlazePose and the
face blur.  The analysis writes no annotated video (``overlay`` off), since a re-score never makes one: the ratio
compares the analysis proper with the re-score.  Prints each time, the ratio (target <= 0.05), and the re-score's
own split: scoring the stored poses, and the rest (the pictures, drawn again but with the faces the analysis found
in the same frames remembered, the files and the job's bookkeeping), and the CPU time each took (every thread's), which
the machine's load moves less.  The load moves both wall times: run it on a machine otherwise idle, or read the ratio
of one run, never times from different runs.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/rescore_bench.py [--minutes 10] [--quality medium] [--folder DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_RATIO = 0.05


def looped_demo(path: Path, minutes: float, fps: int = 10) -> Path:
    """The demo's frames, looped for ``minutes``, each loop marked by a small grey square of its own in a corner: no
    two frames of the video are alike, as in a real one (the pictures' face search remembers frames it has seen)."""
    from pipeline.demo import frames
    from pipeline.video import write_video

    cycle = list(frames(fps))

    def marked(index: int) -> np.ndarray:
        frame = cycle[index % len(cycle)].copy()
        frame[-8:, :8] = (index // len(cycle) * 37) % 256
        return frame

    return write_video(path, (marked(index) for index in range(int(minutes * 60 * fps))), fps=fps)


def timed(call):
    started = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - started


def cpu_timed(call):
    """The answer, the wall time and this process's CPU time (every thread's: the inline executor runs the job here)."""
    cpu = time.process_time()
    answer, wall = timed(call)
    return answer, wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quality", default="medium")
    parser.add_argument("--folder", type=Path, help="keep the video and the store here (a video already there is reused)")
    args = parser.parse_args()

    from ergo_tasks.analysis import AnalysisSettings, register
    from ergo_tasks.analysis.keys import results_prefix, upload_key
    from ergo_tasks.app import TaskApp
    from ergo_tasks.service.actions import build_service
    from ergo_tasks.service.requests import Caller
    from ergo_tasks.service.settings import ServiceSettings
    from ergo_tasks.settings import TaskSettings
    from pipeline.assessment import AssessmentParams
    from pipeline.rescore import rescore
    from pipeline.results import load_result
    from statestore.local import LocalStore

    with tempfile.TemporaryDirectory(prefix="rescore-bench-") as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        video = folder / f"shift-{args.minutes:g}min-marked.mp4"
        if not video.exists():
            _, made = timed(lambda: looped_demo(video, args.minutes))
            print(f"video: {args.minutes:g} min of the demo's worker, 768x576 at 10 fps, made in {made:.0f} s")
        store = LocalStore(folder / f"store-{time.time_ns()}")
        app = TaskApp(store=store, settings=TaskSettings(eager=False))
        register(app, AnalysisSettings(pose_model="blazepose", part_chunks=0))  # one worker here: no parts
        service = build_service(app, ServiceSettings(dispatch_mode="inline"))
        key = upload_key(video.name)
        store.upload_file(key, video)

        def call(action: str, **params) -> dict:
            answer = service.handle(action, params, Caller())
            assert answer["status"] == "success", answer
            return answer

        started, analysis_s, analysis_cpu = cpu_timed(lambda: call("start_processing", video_key=key, quality=args.quality, overlay=False))
        job = started["job_id"]
        assert call("get_status", job_id=job)["job_status"]["status"] == "completed"
        again, rescore_s, rescore_cpu = cpu_timed(lambda: call("rescore_job", job_id=job, params={"load_kg": 12, "coupling": 2}))
        view = call("get_status", job_id=again["job_id"])["job_status"]
        assert view["status"] == "completed", view["error"]
        original, loading_s = timed(lambda: load_result(store.get(f"{results_prefix(job)}result.pkl").body))
        _, scoring_s = timed(lambda: rescore(original, AssessmentParams(load_kg=12, coupling=2)))

    frames = view["summary"]["frames_analysed"]
    print(f"quality {args.quality}: {frames} frames analysed, {view['summary']['frames_with_person']} with the worker")
    print(f"{'analysis':>10} {'re-score':>10} {'ratio':>8}  (target <= {TARGET_RATIO})")
    print(f"{analysis_s:9.1f}s {rescore_s:9.2f}s {rescore_s / analysis_s:8.4f}  "
          f"{'met' if rescore_s / analysis_s <= TARGET_RATIO else 'NOT met'}")
    print(f"CPU time (every thread of this process): analysis {analysis_cpu:.1f} s, re-score {rescore_cpu:.2f} s, "
          f"ratio {rescore_cpu / analysis_cpu:.4f}")
    print(f"re-score's parts: reading result.pkl {loading_s:.2f} s, scoring the poses {scoring_s:.2f} s, "
          f"pictures, files and job bookkeeping {rescore_s - loading_s - scoring_s:.2f} s")


if __name__ == "__main__":
    main()
