"""``ergo analyze VIDEO``: one analysis on this machine, through the task engine, with no account."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.pose import MODELS
from pipeline.presets import DEFAULT_PRESET, PRESETS
from pipeline.result_model import read_document

from ..analysis.local import RANDOM_WARNING, failure_message, run_analysis
from ..status import JobStatus
from .output import JobProgress, print_files, print_summary
from .record import add_record_flags, record_from
from .task_details import add_flags, task_details
from .time_range import add_range_flags, range_options


def follow(video: Path, progress: bool, **options) -> tuple[JobStatus, Path | None]:
    """Run the analysis with a progress bar on stderr (when on a terminal, or asked for)."""
    bar = JobProgress(show=progress or sys.stderr.isatty())
    announced = []

    def on_status(doc: JobStatus) -> None:
        if not announced:
            print(f"Job {doc.job_id}: analysing {video.name} at quality '{options.get('quality', DEFAULT_PRESET)}'", file=sys.stderr)
            announced.append(True)
        bar.update(doc.progress, doc.stage, doc.meta.get("frames_done"), doc.meta.get("frames_total"))

    try:
        return run_analysis(video, on_status=on_status, **options)
    finally:
        bar.close()


def cmd_analyze(args: argparse.Namespace) -> int:
    video = Path(args.video)
    if not video.is_file():
        print(f"error: {video} does not exist or is not a file.", file=sys.stderr)
        return 2
    if args.weights == "random":
        print(RANDOM_WARNING, file=sys.stderr)
    params, record = task_details(args), record_from(args)
    doc, out = follow(video, args.progress, quality=args.quality, model=args.model, weights=args.weights,
                      chunk_size=args.chunk_size, out=args.out, params=params, blur_faces=args.blur_faces,
                      overlay=args.overlay, record=record, **range_options(args))
    if out is None:
        print(f"error: {failure_message(doc)}", file=sys.stderr)
        return 1
    document = read_document(doc.result)
    if document.analysed_span():
        print(f"Part of the video: {document.analysed_span()}")
    print_summary(document.summary)
    print_files(out)
    if args.weights == "random":
        print(RANDOM_WARNING, file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("analyze", help="analyse a video on this machine and write the result files",
                            description="Analyse a video on this machine (embedded storage, no account needed).")
    parser.add_argument("video", help="the video file")
    parser.add_argument("--quality", choices=list(PRESETS), default=DEFAULT_PRESET,
                        help="; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()))
    parser.add_argument("--out", help="folder for the result files (default ergo-results/JOB_ID)")
    parser.add_argument("--model", choices=MODELS, default=None, help="pose model (default: ERGO_POSE_MODEL or blazepose)")
    parser.add_argument("--weights", help="blazepose: lite, full (default) or heavy; keypointrcnn: a weights file, "
                                          "'default' (torchvision's, cached or downloaded) or 'random' (tests only)")
    parser.add_argument("--chunk-size", type=int, help="sampled frames per checkpointed chunk (default 32)")
    parser.add_argument("--progress", action="store_true", help="draw the progress bar even when not on a terminal")
    parser.add_argument("--no-blur-faces", dest="blur_faces", action="store_false",
                        help="leave faces unblurred in the posture pictures (they are blurred by default)")
    parser.add_argument("--overlay", action=argparse.BooleanOptionalAction, default=None,
                        help="write the annotated video overlay.mp4 (default: on, except at quality low)")
    add_flags(parser)
    add_record_flags(parser)
    add_range_flags(parser)
    parser.set_defaults(handler=cmd_analyze)
