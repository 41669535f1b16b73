"""How far and how fast one person's pose moves and changes size between analysed frames: the evidence for the
limits of ``pipeline/continuity.py`` (a worker does not jump across the picture, or change size, between two frames).

    .venv/bin/python benchmarks/track_continuity.py [--presets low medium high] [--clips bikes carphone ...]

Each clip is analysed at each preset with the continuity rule off, and every pair of consecutive accepted frames of
the same shot (for the labelled real clips, frames labelled as a person) is measured: the centre's move in body
sizes, the size factor, and the share of the rule's limit each uses (``headroom``: the largest share; the rule starts
a new segment above 1.0).  Then the rule itself runs on the same poses: ``rejected`` counts the frames it would
reject (on these clips of one person each: 0 wanted; on ``two_people`` the tracker follows one of them throughout).

Clips: the labelled real footage (``tests/data/real_bikes.json``, ``real_carphone.json``), Sports2D's demo (a man on a
box and a woman walking past him), the demo (``ergo demo``) and the parity clips of ``benchmarks/pose_parity.py``.
Every clip but Sports2D's follows one person (each shot of the montage); in Sports2D's demo the tracker switches from
the man to the woman and then to someone entering: there the pairs above 1.0 are those switches, and ``rejected``
lists the frames of the people other than the one followed longest.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

REAL = ("bikes", "carphone", "sports2d_faces")
PARITY = ("demo", "mirrored", "small", "dark", "rotated", "cut_off", "two_people", "lost")
CLIPS = (*REAL, "ergo_demo", *PARITY)


def clip_path(name: str, folder: Path) -> tuple[Path, dict | None]:
    """The clip's file and its labels (None for clips made here)."""
    from benchmarks import pose_parity
    from pipeline.demo import make_demo_video
    from tests.helpers import fetch_clip

    if name in REAL:
        labels = json.loads((REPO / "tests" / "data" / f"real_{name}.json").read_text())
        return fetch_clip(labels, folder), labels if "spans" in labels else None
    if name == "ergo_demo":
        return make_demo_video(folder / "ergo_demo.mp4"), None
    return pose_parity.make_clip(folder / f"{name}.mp4", name), None


def captured(video: Path, model, preset: str) -> dict:
    """What the continuity rule is given for ``video`` at ``preset``, captured with the rule off, and the result."""
    from pipeline import plausibility
    from pipeline.analysis import AnalysisOptions, analyze_video
    from pipeline.presets import get_preset

    seen: dict = {}
    rule = plausibility.continuity_reasons

    def off(keypoints, names, times, accepted, cuts):
        seen.update(keypoints=keypoints.copy(), names=names, times=times.copy(), accepted=accepted.copy(),
                    cuts=None if cuts is None else cuts.copy())
        return [""] * len(accepted)

    plausibility.continuity_reasons = off
    try:
        seen["result"] = analyze_video(video, model, AnalysisOptions(get_preset(preset)))
    finally:
        plausibility.continuity_reasons = rule
    return seen


def person_frames(result, labels: dict | None) -> np.ndarray:
    """Frames labelled as holding a person (all frames for clips without labels)."""
    if labels is None:
        return np.ones(len(result.frame_indices), bool)
    person = np.zeros(len(result.frame_indices), bool)
    for span in labels["spans"]:
        if span["person"] != "none":
            first, last = span["frames"]
            person |= (result.frame_indices >= first) & (result.frame_indices <= last)
    return person


def measure(seen: dict, labels: dict | None) -> dict:
    """The largest move, size factor and share of the limits between consecutive accepted frames of one shot."""
    from pipeline import continuity

    found = continuity.body(seen["keypoints"], seen["names"])
    accepted = seen["accepted"] & person_frames(seen["result"], labels)
    cuts = seen["cuts"] if seen["cuts"] is not None else np.zeros(len(accepted), bool)
    shot = np.cumsum(cuts)
    frames = np.flatnonzero(accepted)
    moves, factors, shares, gaps = [], [], [], []
    for before, after in zip(frames[:-1], frames[1:]):
        if shot[before] != shot[after]:
            continue
        seconds = float(seen["times"][after] - seen["times"][before])
        move, factor = continuity.change(found, before, after)
        most_move, most_factor = continuity.limits(seconds)
        moves.append(move), factors.append(factor), gaps.append(seconds)
        shares.append(max(move / most_move, np.log(factor) / np.log(most_factor)))
    reasons = continuity.continuity_reasons(seen["keypoints"], seen["names"], seen["times"], seen["accepted"], seen["cuts"])
    rejected = [int(seen["result"].frame_indices[i]) for i, reason in enumerate(reasons) if reason]
    worst = int(np.argmax(shares)) if shares else None
    return {"pairs": len(moves), "accepted": int(seen["accepted"].sum()),
            "move_max": round(max(moves, default=0.0), 3), "factor_max": round(max(factors, default=1.0), 3),
            "headroom": round(max(shares, default=0.0), 3), "at_gap_s": None if worst is None else round(gaps[worst], 2),
            "rejected": rejected, "reasons": sorted({reason for reason in reasons if reason})[:2]}


def main() -> None:
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.pose import load_pose_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["low", "medium", "high"])
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=CLIPS)
    args = parser.parse_args()
    model = load_pose_model(AnalysisSettings().pose("blazepose"))
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="ergo-continuity-") as folder:
        for name in args.clips:
            video, labels = clip_path(name, Path(folder))
            for preset in args.presets:
                report.setdefault(name, {})[preset] = measure(captured(video, model, preset), labels)
                print(name, preset, json.dumps(report[name][preset]), flush=True, file=sys.stderr)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
