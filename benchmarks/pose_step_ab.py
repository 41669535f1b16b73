"""The pose step's speed, this checkout against an earlier commit, side by side in one run.

    .venv/bin/python benchmarks/pose_step_ab.py --before f8c7f92 [--rounds 3] [--seconds 20]

Checks the earlier commit out into a temporary git worktree and times, alternately in fresh processes with the
worker's threading (a thread per usable core, ``OMP_WAIT_POLICY=PASSIVE``), BlazePose (``full``) on the same
frames already in memory, chunk by chunk as the analysis calls it: the demo's person leaning over in a 720p clip,
sampled at 5 frames per second, read at 640x360 and at 960x540.  Prints frames per second per version and size
(medians over the rounds) and after/before ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SIZES = ((640, 360), (960, 540))
CHUNK = 32

#: Runs inside a checkout (the worktree or this one): times the pose model on the saved frames.
CHILD = """
import json, sys, time
import numpy as np
from ergo_tasks.analysis.settings import AnalysisSettings
settings = AnalysisSettings()
settings.prepare_process()
from pipeline.pose import load_pose_model
model = load_pose_model(settings.pose("blazepose"))
frames, times = np.load(sys.argv[1]), np.load(sys.argv[2])
CHUNK = int(sys.argv[3])
def run():
    state = {}
    for start in range(0, len(frames), CHUNK):
        chunk = frames[start:start + CHUNK]
        if hasattr(model, "track"):
            _, state = model.track(chunk, times[start:start + CHUNK], state)
        else:
            model.predict_sequence(chunk)
run_frames = frames[:CHUNK]
(model.track(run_frames, times[:CHUNK]) if hasattr(model, "track") else model.predict_sequence(run_frames))  # warm-up
started = time.perf_counter()
run()
print(json.dumps({"fps": len(frames) / (time.perf_counter() - started)}))
"""


def frames_for(size: tuple[int, int], seconds: int, folder: Path) -> tuple[Path, Path]:
    """The sampled frames of a 720p clip of the demo's person, read at ``size``, and their times."""
    from benchmarks.pipeline_bench import make_clip, person_scene
    from pipeline.video import FrameReader, frame_times_us, probe, sample_indices

    video = folder / "clip.mp4"
    if not video.exists():
        make_clip(video, seconds, person_scene())
    info = probe(video)
    indices = sample_indices(info, 5.0)
    frames, times = folder / f"frames-{size[0]}.npy", folder / f"times-{size[0]}.npy"
    np.save(frames, FrameReader(video, info, size).read(indices))
    np.save(times, frame_times_us(indices, info.fps))
    return frames, times


def timed(checkout: Path, frames: Path, times: Path) -> float:
    answer = subprocess.run([sys.executable, "-c", CHILD, str(frames), str(times), str(CHUNK)], cwd=checkout, capture_output=True, text=True)
    if answer.returncode:
        sys.exit(f"the pose step failed in {checkout}:\n{answer.stderr[-2000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])["fps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ergo-ab-") as folder:
        scratch, worktree = Path(folder), Path(folder) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.before], cwd=REPO, check=True, capture_output=True)
        try:
            report = {}
            for size in SIZES:
                frames, times = frames_for(size, args.seconds, scratch)
                runs = {"before": [], "after": []}
                for _ in range(args.rounds):
                    runs["before"].append(timed(worktree, frames, times))
                    runs["after"].append(timed(REPO, frames, times))
                medians = {version: round(statistics.median(values), 1) for version, values in runs.items()}
                report[f"{size[0]}x{size[1]}"] = {**medians, "after/before": round(medians["after"] / medians["before"], 2)}
                print(size, json.dumps(report[f"{size[0]}x{size[1]}"]), file=sys.stderr, flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=False, capture_output=True)
    print(json.dumps({"before": args.before, "frames_per_second": report}, indent=1))


if __name__ == "__main__":
    main()
