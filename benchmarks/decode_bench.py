"""Decoding benchmark: decord against the PyAV reader that skips non-reference frames, side by side.

    .venv/bin/python benchmarks/decode_bench.py [--seconds 20] [--sizes 1280x720,1920x1080] [--repeats 3]

Makes clips of the demo's person with sensor noise (x264 at `veryfast`, a
keyframe a second, as a camera or a desktop encoder writes them): without
B-frames, with x264's 3 B-frames, and with x265's.  For each clip and quality
preset, reads the analysis plan's chunks at the analysis size the way the
pipeline does, with each reader in turn (fresh readers, alternating, median of
``--repeats``), and prints one JSON object per clip and preset:

* ``decord_fps``, ``pyav_fps``    analysed frames read per second
* ``pyav-noskip_fps``             the PyAV reader decoding every frame on its way
* ``pyav_over_decord``            the ratio (> 1: the PyAV reader is faster)
* ``skipping_gain``               pyav / pyav-noskip: what skipping non-reference frames itself saves
* ``decoded_per_analysed``        frames decoded per analysed frame: decord's
                                  from the keyframes (it decodes every frame from
                                  one), PyAV's counted by the reader
* ``reader``                      the one ``probe`` chooses for the clip
* ``index_s``                     the PyAV reader's packet index (read once per reader)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.pipeline_bench import decoded_per_analysed, person_scene  # noqa: E402

CLIPS = {"no B-frames": ("libx264", 0), "x264, 3 B-frames": ("libx264", 3), "x265, 3 B-frames": ("libx265", 3)}


def noisy(scene):
    rng = np.random.default_rng(0)

    def frame(index: int, width: int, height: int) -> np.ndarray:
        picture = scene(index, width, height).astype(np.int16) + rng.integers(-6, 7, (height, width, 3), dtype=np.int16)
        return picture.clip(0, 255).astype(np.uint8)

    return frame


def read_all(video: Path, info, plan, reader: str) -> tuple[float, int | None]:
    """Seconds to read the plan's chunks with a fresh reader, and the frames PyAV decoded: ``reader`` is decord,
    pyav, or pyav-noskip (the PyAV reader decoding every frame on its way: what skipping itself saves)."""
    from pipeline.pyav_reader import PyAVReader
    from pipeline.video import FrameReader

    start = time.perf_counter()
    if reader == "pyav-noskip":
        frames = PyAVReader(video, plan.size, plan.indices, skip_nonreference=False)
    else:
        frames = FrameReader(video, dataclasses.replace(info, reader=reader), plan.size, sampled=plan.indices)
    for chunk in plan.chunks:
        frames.read(chunk)
    return time.perf_counter() - start, frames.frames_decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from pipeline.analysis import AnalysisOptions, Plan
    from pipeline.presets import PRESETS
    from pipeline.pyav_reader import PacketIndex
    from pipeline.synthetic import make_video
    from pipeline.video import probe

    scene = noisy(person_scene())
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes.split(","):
            width, height = (int(side) for side in size.split("x"))
            for name, (codec, bframes) in CLIPS.items():
                video = make_video(Path(folder) / f"{size}-{codec}-{bframes}.mp4", frames=args.seconds * 30, fps=30,
                                   width=width, height=height, scene=scene, gop=30, codec=codec, bframes=bframes,
                                   preset="veryfast")
                info = probe(video)
                start = time.perf_counter()
                PacketIndex.of(video)
                index_s = time.perf_counter() - start
                for quality, preset in PRESETS.items():
                    plan = Plan.of(video, AnalysisOptions(preset))
                    seconds: dict[str, list[float]] = {"decord": [], "pyav": [], "pyav-noskip": []}
                    decoded: dict[str, float] = {}
                    for _ in range(args.repeats):
                        for reader in seconds:
                            took, frames_decoded = read_all(video, info, plan, reader)
                            seconds[reader].append(took)
                            decoded[reader] = frames_decoded or 0
                    analysed = len(plan.indices)
                    fps = {reader: analysed / statistics.median(took) for reader, took in seconds.items()}
                    print(json.dumps({
                        "clip": f"{size} {name}", "quality": quality, "reader": info.reader,
                        **{f"{reader}_fps": round(value, 1) for reader, value in fps.items()},
                        "pyav_over_decord": round(fps["pyav"] / fps["decord"], 2),
                        "skipping_gain": round(fps["pyav"] / fps["pyav-noskip"], 2),
                        "decoded_per_analysed": {"decord": round(decoded_per_analysed(str(video), plan.chunks), 2),
                                                 "pyav": round(decoded["pyav"] / analysed, 2),
                                                 "pyav-noskip": round(decoded["pyav-noskip"] / analysed, 2)},
                        "index_s": round(index_s, 3)}), flush=True)


if __name__ == "__main__":
    main()
