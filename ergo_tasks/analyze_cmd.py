"""``ergo analyze VIDEO``: one analysis on this machine, through the task engine.

The video goes into the embedded local store, the analysis job runs in this
process exactly as a worker would run it (status document, checkpoints,
results under ``results/<job_id>/``), and the four result files are copied to
``--out``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from statestore.config import StorageSettings
from statestore.keys import upload_key
from statestore.local import LocalStore

from .app import TaskApp, default_worker_id
from .config import TaskSettings
from .logs import configure_logging
from .states import State
from .video_job import ANALYZE_TASK, register

RANDOM_WARNING = ("WARNING: --weights random uses an untrained pose model. The poses and risk scores it produces are "
                  "MEANINGLESS; use it only to test the system.")


def _bar(meta: dict, progress: float, stage: str) -> str:
    width = 30
    filled = int(width * progress / 100)
    frames = f" {meta['frames_done']}/{meta['frames_total']} frames" if "frames_total" in meta else ""
    eta = f", about {meta['eta_s']:.0f} s left" if meta.get("eta_s") else ""
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {progress:5.1f}% {stage}{frames}{eta}".ljust(100)


def print_summary(summary: dict) -> None:
    rula, reba = summary["rula"], summary["reba"]
    print(f"Frames analysed: {summary['frames_analysed']}, person detected in {summary['detection_rate']:.0%}")
    for name, block in (("RULA", rula), ("REBA", reba)):
        if block["max"] is None:
            print(f"{name}: no frame could be scored")
            continue
        print(f"{name}: max {block['max']}, mean {block['mean']:.2f}")
        for level, row in block["levels"].items():
            if row["frames"]:
                print(f"  level {level} ({row['label']}): {row['share']:.0%} of scored time ({row['seconds']:.1f} s)")
        worst = ", ".join(f"{m['time_s']:.1f} s (score {m['score']})" for m in block["worst_moments"][:3])
        print(f"  worst moments: {worst}")
    for run in summary["sustained_postures"][:5]:
        print(f"Sustained: {run['part']} {run['band']} from {run['start_s']:.1f} s for {run['duration_s']:.1f} s")
    for damage in summary["damaged_spans"]:
        print(f"Skipped damaged video: {damage}")


def run_analysis(video: Path, *, quality: str = "medium", model: str | None = None, weights: str | None = None,
                 chunk_size: int | None = None, out: str | Path | None = None, progress: bool = False):
    """Analyse ``video`` on this machine through the task engine; returns (final status document, results folder or None)."""
    settings = TaskSettings(eager=False)
    configure_logging(settings.log_format, "WARNING")  # the progress bar tells the story; warnings still show
    store = LocalStore(StorageSettings().data_dir / "store")
    app = TaskApp(store=store, settings=settings)
    register(app)
    key = upload_key(video.name)
    store.upload_file(key, video, content_type="video/mp4")
    kwargs = {"video_key": key, "quality": quality, "model": model, "weights": weights}
    if chunk_size:
        kwargs["chunk_size"] = chunk_size
    job = app.send_task(ANALYZE_TASK, kwargs=kwargs)
    print(f"Job {job.id}: analysing {video.name} at quality '{quality}'", file=sys.stderr)
    runner = threading.Thread(target=app.run_until_ready, args=(job.id, default_worker_id("analyze")), daemon=True)
    runner.start()
    while runner.is_alive():
        doc = job.status_doc
        if sys.stderr.isatty() or progress:
            sys.stderr.write(_bar(doc.meta, doc.progress, doc.stage))
            sys.stderr.flush()
        runner.join(timeout=0.5)
    doc = job.status_doc
    sys.stderr.write(_bar(doc.meta, doc.progress, doc.stage) + "\n")
    if doc.state != State.SUCCESS:
        return doc, None
    folder = Path(out or Path("ergo-results") / job.id)
    folder.mkdir(parents=True, exist_ok=True)
    for result_key in doc.result_keys.values():
        store.download_file(result_key, folder / result_key.rsplit("/", 1)[-1])
    return doc, folder


def failure_message(doc) -> str:
    return doc.error.message if doc.error else f"the job ended as {doc.state}"


def cmd_analyze(args: argparse.Namespace) -> int:
    video = Path(args.video)
    if not video.is_file():
        print(f"error: {video} does not exist or is not a file.", file=sys.stderr)
        return 2
    if args.weights == "random":
        print(RANDOM_WARNING, file=sys.stderr)
    doc, out = run_analysis(video, quality=args.quality, model=args.model, weights=args.weights, chunk_size=args.chunk_size,
                            out=args.out, progress=args.progress)
    if out is None:
        print(f"error: {failure_message(doc)}", file=sys.stderr)
        return 1
    print_summary(doc.result["summary"])
    print(f"Result files in {out}/: {', '.join(sorted(p.name for p in out.iterdir()))}")
    if args.weights == "random":
        print(RANDOM_WARNING, file=sys.stderr)
    return 0


def add_analyze(sub: argparse._SubParsersAction) -> None:
    from pipeline.pose import MODELS
    from pipeline.presets import PRESETS

    parser = sub.add_parser("analyze", help="analyse a video on this machine and write the result files",
                            description="Analyse a video on this machine (embedded storage, no account needed).")
    parser.add_argument("video", help="the video file")
    parser.add_argument("--quality", choices=list(PRESETS), default="medium",
                        help="; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()))
    parser.add_argument("--out", help="folder for the result files (default ergo-results/JOB_ID)")
    parser.add_argument("--model", choices=MODELS, default=None, help="pose model (default: ERGO_POSE_MODEL or blazepose)")
    parser.add_argument("--weights", help="blazepose: lite, full (default) or heavy; keypointrcnn: a weights file, "
                                          "'default' (torchvision's, cached or downloaded) or 'random' (tests only)")
    parser.add_argument("--chunk-size", type=int, help="sampled frames per checkpointed chunk (default 32)")
    parser.add_argument("--progress", action="store_true", help="draw the progress bar even when not on a terminal")
    parser.set_defaults(handler=cmd_analyze)
