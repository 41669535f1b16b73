"""Does a frame's posture depend on the quality preset?  The same frames read at each preset's size.

    .venv/bin/python benchmarks/preset_consistency.py [--heights 600 400 300 240 200 160 120]

The presets read a video at different sizes (``low`` 480 px on the long side, ``medium`` 640, ``high`` 960).
For people of several heights in a 1280x720 video (the demo's person, leaning over as in the demo), each frame
is read at every preset's size exactly as the pipeline reads it (decoded and resized by the video reader), its
pose found on its own (``BlazePose.predict``: no tracking, so nothing but the pixels differs) and its angles
measured as the analysis measures them (3D where the world points allow).  Printed per height: the person's
height at ``low`` (pixels of the frame ``low`` reads: the extent of the body landmarks inside the frame) and the
largest difference of any angle between presets, over the frames (issue 11: within 3 degrees wherever the person
is at least 150 px tall at ``low``).  ``pipeline.presets.MIN_PERSON_PX`` comes from this.
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
WIDTH, HEIGHT = 1280, 720
LEANS = (0, 15, 30, 45)


def clip(path: Path, height: int) -> Path:
    """A few frames of the demo's person, ``height`` pixels tall in a 1280x720 video, leaning by LEANS degrees."""
    from skimage.transform import rescale, rotate

    from pipeline import demo
    from pipeline.video import write_video

    person = next(demo.frames(fps=1))[:, 128:640]  # the photograph (512x512) without the canvas around it
    scaled = (rescale(person, height / person.shape[0], channel_axis=2, anti_aliasing=True) * 255).astype(np.uint8)
    frames = []
    for lean in LEANS:
        canvas = np.full((HEIGHT, WIDTH, 3), demo.BACKGROUND, np.uint8)
        top, left = HEIGHT - scaled.shape[0] - 20, (WIDTH - scaled.shape[1]) // 2
        canvas[top:top + scaled.shape[0], left:left + scaled.shape[1]] = scaled
        frames.append((rotate(canvas, lean, center=(WIDTH / 2, HEIGHT - 20), mode="edge") * 255).astype(np.uint8))
    return write_video(path, iter(frames), fps=1, gop=1)


def angles_at(model, video: Path, preset) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each frame's angles read at ``preset``'s size, and the person's height there (pixels)."""
    from pipeline.angles import AngleSettings, compute_angles, compute_world_angles, prefer_3d
    from pipeline.video import FrameReader, probe

    info = probe(video)
    size = preset.target_size(info.width, info.height)
    frames = FrameReader(video, info, size).read(np.arange(info.frame_count))
    pose = model.predict(frames)
    keypoints, world, names = pose.keypoints[:, 0], pose.world[:, 0], list(model.keypoint_names)
    measured, _ = prefer_3d(compute_world_angles(world, keypoints, names, AngleSettings()), compute_angles(keypoints, names, AngleSettings()))
    ys = np.clip(keypoints[..., 1], 0, size[1])
    return measured, ys.max(1) - ys.min(1)


def consistency(model, heights: list[int], folder: Path) -> dict:
    from pipeline.presets import PRESETS

    report = {}
    for height in heights:
        video = clip(folder / f"person-{height}.mp4", height)
        measured = {name: angles_at(model, video, preset) for name, preset in PRESETS.items()}
        worst = 0.0
        for angle in measured["low"][0]:
            values = np.stack([measured[name][0][angle] for name in PRESETS])
            if np.isfinite(values).all(axis=0).any():
                worst = max(worst, float(np.nanmax(np.ptp(values, axis=0))))
        report[height] = {"height_at_low_px": round(float(np.nanmedian(measured["low"][1])), 1), "largest_difference_deg": round(worst, 1)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heights", nargs="+", type=int, default=[600, 400, 300, 240, 200, 160, 120])
    args = parser.parse_args()
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.pose import load_pose_model

    model = load_pose_model(AnalysisSettings().pose("blazepose"))
    with tempfile.TemporaryDirectory(prefix="ergo-presets-") as folder:
        print(json.dumps(consistency(model, args.heights, Path(folder)), indent=1))


if __name__ == "__main__":
    main()
