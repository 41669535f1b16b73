"""``ergo demo``: the whole system on one machine, offline, with a pretrained model.

Fetches BlazePose (or finds it cached), makes a video of a person leaning over
and straightening up again (:mod:`pipeline.demo`), analyses it exactly as
``ergo analyze`` would, and prints the summary with a risk timeline.  It exits
non-zero when the demo does not show what it should: a person found in most
frames, and a risk that changes over the clip.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .analyze_cmd import failure_message, print_summary, run_analysis

#: Seconds per step of the printed risk timeline.
TIMELINE_STEP_S = 2.0


def risk_timeline(times: np.ndarray, scores: np.ndarray, step: float = TIMELINE_STEP_S) -> list[tuple[float, float | None]]:
    """(start, highest score) per ``step`` seconds; None where no frame was scored."""
    timeline = []
    for start in np.arange(0.0, float(times.max()) + 1e-9, step):
        window = scores[(times >= start) & (times < start + step)]
        window = window[~np.isnan(window)]
        timeline.append((float(start), float(window.max()) if len(window) else None))
    return timeline


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import make_demo_video
    from pipeline.pose.assets import ModelMissing, fetch
    from pipeline.results import load_result

    try:
        models = fetch(["pose_detection", "pose_landmark_full"])
    except ModelMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Pose model: BlazePose full, SHA-256 verified, in {models['pose_landmark_full'].parent}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    video = make_demo_video(out / "demo.mp4")
    print(f"Demo video: {video} (a person leaning over and straightening up, 14 s)")
    doc, folder = run_analysis(video, quality=args.quality, model="blazepose", out=out, progress=args.progress)
    if folder is None:
        print(f"error: {failure_message(doc)}", file=sys.stderr)
        return 1
    print_summary(doc.result["summary"])
    result = load_result(folder / "result.pkl")
    for method, scores in (("RULA", result["rula"]["grand_score"]), ("REBA", result["reba"]["reba_score"])):
        steps = ", ".join(f"{start:.0f}s:{'-' if top is None else int(top)}" for start, top in risk_timeline(result["timestamps"], scores))
        print(f"{method} over time (highest per {TIMELINE_STEP_S:.0f} s): {steps}")
    print(f"Result files in {folder}/: {', '.join(sorted(p.name for p in folder.iterdir()))}")
    detection = float(np.mean(result["detected"]))
    rula = result["rula"]["grand_score"][~np.isnan(result["rula"]["grand_score"])]
    changes = len(rula) > 0 and rula.max() > rula.min()
    print(f"Check: person detected in {detection:.0%} of frames; RULA {'changes' if changes else 'does not change'} over the clip"
          + (f" ({int(rula.min())} to {int(rula.max())})" if len(rula) else ""))
    return 0 if detection >= 0.8 and changes else 1


def add_demo(sub: argparse._SubParsersAction) -> None:
    from pipeline.presets import PRESETS

    parser = sub.add_parser("demo", help="analyse a generated demo video with BlazePose, offline",
                            description="Fetch BlazePose, make a demo video of a person changing posture, analyse it.")
    parser.add_argument("--out", default="ergo-results/demo", help="folder for the demo video and result files (default ergo-results/demo)")
    parser.add_argument("--quality", choices=list(PRESETS), default="medium", help="analysis preset (default medium)")
    parser.add_argument("--progress", action="store_true", help="draw the progress bar even when not on a terminal")
    parser.set_defaults(handler=cmd_demo)
