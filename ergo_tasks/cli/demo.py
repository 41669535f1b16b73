"""``ergo demo``: the whole system on one machine, offline, with a pretrained model.

Fetches BlazePose (or finds it cached), makes a video of a person leaning over
and straightening up again (:mod:`pipeline.demo`), analyses it exactly as
``ergo analyze`` would, and prints the summary with a risk timeline.  It exits
non-zero when the demo does not show what it should (:class:`DemoCheck`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.errors import ModelMissing
from pipeline.presets import DEFAULT_PRESET, PRESETS

from ..analysis.demo import TIMELINE_STEP_S, DemoCheck, fetch_demo_models, risk_timeline, timeline_words
from ..analysis.local import failure_message
from .analyze import follow
from .output import print_files, print_summary


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import make_demo_video
    from pipeline.results import load_result

    try:
        models = fetch_demo_models()
    except ModelMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Pose model: BlazePose full, SHA-256 verified, in {models['pose_landmark_full'].parent}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    video = make_demo_video(out / "demo.mp4")
    print(f"Demo video: {video} (a person leaning over and straightening up, 14 s)")
    doc, folder = follow(video, args.progress, quality=args.quality, model="blazepose", out=out)
    if folder is None:
        print(f"error: {failure_message(doc)}", file=sys.stderr)
        return 1
    result = load_result(folder / "result.pkl")
    print_summary(result.summary)
    for method, exact, highest in (("RULA", result.rula.grand_score, result.rula.grand_score_max),
                                   ("REBA", result.reba.reba_score, result.reba.reba_score_max)):
        steps = timeline_words(risk_timeline(result.timestamps, exact, highest))
        print(f"{method} over time (highest per {TIMELINE_STEP_S:.0f} s; low-high where a body part was out of view): {steps}")
    print_files(folder)
    check = DemoCheck.of(result)
    print(f"Check: {check}")
    return 0 if check.passed else 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="analyse a generated demo video with BlazePose, offline",
                            description="Fetch BlazePose, make a demo video of a person changing posture, analyse it.")
    parser.add_argument("--out", default="ergo-results/demo", help="folder for the demo video and result files (default ergo-results/demo)")
    parser.add_argument("--quality", choices=list(PRESETS), default=DEFAULT_PRESET, help=f"analysis preset (default {DEFAULT_PRESET})")
    parser.add_argument("--progress", action="store_true", help="draw the progress bar even when not on a terminal")
    parser.set_defaults(handler=cmd_demo)
