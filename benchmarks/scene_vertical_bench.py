"""The scene's vertical against a known tilt: real clips' frames turned by a known roll.

A camera held at a roll turns the picture; turning the frames of a real clip by ``r`` degrees (about the centre,
cropped to the same centred rectangle for every roll so that no black corner adds edges and the focal length in
pixels stays the same) must move the lines' roll by exactly ``-r`` and leave their pitch alone.  Pose2Sim's
calibrated cameras also give the true tilt of the unturned clip.  Where the lines are not trusted
(:func:`pipeline.angles.trusted_scene`) they must stay untrusted whatever the roll.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/scene_vertical_bench.py [--frames 16] [--rolls -15 -5 5 15]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.angles import CameraTilt, trusted_scene  # noqa: E402
from pipeline.presets import analysis_size  # noqa: E402
from pipeline.scene_vertical import focal_px, frame_lines, scene_vertical  # noqa: E402

#: The turns tried (degrees, counter-clockwise in the picture); the crop fits the largest.
ROLLS = (-15.0, -5.0, 5.0, 15.0)


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    """``count`` frames spread evenly over the clip, at the size the analysis reads them (:func:`analysis_size`)."""
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    size = analysis_size(int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    frames = []
    for index in np.linspace(0, max(total - 1, 0), count).astype(int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
        if ok:
            frames.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    capture.release()
    if not frames:
        raise RuntimeError(f"No frame could be read from {path}.")
    return frames


def turned(frame: np.ndarray, roll: float, largest: float) -> np.ndarray:
    """``frame`` turned ``roll`` degrees counter-clockwise about its centre, cropped to the centred rectangle of its
    own shape that stays inside the picture when turned by ``largest`` degrees (the same crop for every roll)."""
    height, width = frame.shape[:2]
    rotated = cv2.warpAffine(frame, cv2.getRotationMatrix2D((width / 2, height / 2), roll, 1.0), (width, height),
                             flags=cv2.INTER_LINEAR)
    angle = np.radians(abs(largest))
    scale = 1.0 / (np.cos(angle) + max(width, height) / min(width, height) * np.sin(angle))
    w, h = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
    x, y = (width - w) // 2, (height - h) // 2
    return rotated[y:y + h, x:x + w]


def estimate(frames: list[np.ndarray], roll: float | list[float], largest: float) -> dict:
    """The lines' vertical of ``frames`` turned by ``roll`` (one turn, or one per frame: a phone that turns), with
    the unturned frame's focal length in pixels (the crop does not change the lens): pitch, roll, lines, trusted."""
    turns = roll if isinstance(roll, list) else [roll] * len(frames)
    pictures = [turned(frame, turn, largest) for frame, turn in zip(frames, turns)]
    height, width = pictures[0].shape[:2]
    segments = [frame_lines(picture, np.zeros((0, 4))) for picture in pictures]
    scene = scene_vertical(np.concatenate(segments), width, height, focal_px(*frames[0].shape[1::-1]),
                           frames=np.concatenate([np.full(len(s), i) for i, s in enumerate(segments)]))
    roll = "turning" if isinstance(roll, list) else roll
    if scene is None:
        return {"turn": roll, "lines": 0, "trusted": False}
    tilt = CameraTilt.from_down(scene.down, "scene")
    return {"turn": roll, "pitch": round(tilt.pitch, 2), "roll": round(tilt.roll, 2), "lines": scene.lines,
            "length": round(scene.length, 2), "sd": round(max(scene.pitch_sd, scene.roll_sd), 2),
            "frames_apart": round(scene.frames_apart, 2), "trusted": trusted_scene(scene)}


def sweep(path: Path, frames: int, rolls: tuple[float, ...]) -> list[dict]:
    """The unturned clip's estimate, then each turn's, with how far its roll moved from ``-turn`` (the truth), then
    a phone that turns from ``-largest`` to ``+largest`` over the frames (which must not be trusted)."""
    read = read_frames(path, frames)
    largest = max(abs(r) for r in rolls)
    base = estimate(read, 0.0, largest)
    rows = [base]
    for roll in rolls:
        row = estimate(read, roll, largest)
        if "roll" in row and "roll" in base:
            row["roll_error"] = round(row["roll"] - (base["roll"] - roll), 2)
            row["pitch_moved"] = round(row["pitch"] - base["pitch"], 2)
        rows.append(row)
    rows.append(estimate(read, list(np.linspace(-largest, largest, len(read))), largest))
    return rows


def clips() -> dict[str, tuple[Path, CameraTilt | None]]:
    """Pose2Sim's eight calibrated camera clips (with their true tilt) and the real clips the tests use."""
    from benchmarks.accuracy import CAMERAS, RECORDINGS, fetch_demo, read_qca
    from tests.helpers import fetch_clip

    found: dict[str, tuple[Path, CameraTilt | None]] = {}
    for recording in RECORDINGS:
        folder = fetch_demo(recording=recording)
        calibration = read_qca(folder / "calibration" / "Calib.qca.txt")
        for camera in CAMERAS:
            found[f"{recording} {camera}"] = (folder / "videos" / f"{camera}.mp4", calibration[camera].tilt())
    data = Path(__file__).resolve().parent.parent / "tests" / "data"
    cache = Path.home() / ".cache" / "ergo" / "bench-clips"
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("bikes", "carphone", "sports2d_faces"):
        found[name] = (fetch_clip(json.loads((data / f"real_{name}.json").read_text()), cache), None)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=16, help="frames read per clip (default 16)")
    parser.add_argument("--rolls", type=float, nargs="+", default=list(ROLLS), help="turns in degrees")
    parser.add_argument("--only", nargs="*", help="clip names to run (default all)")
    args = parser.parse_args()
    report = {}
    for name, (path, truth) in clips().items():
        if args.only and name not in args.only:
            continue
        rows = sweep(path, args.frames, tuple(args.rolls))
        report[name] = {"calibrated": None if truth is None else [round(truth.pitch, 1), round(truth.roll, 1)], "rows": rows}
        print(name, json.dumps(report[name]), flush=True)


if __name__ == "__main__":
    main()
