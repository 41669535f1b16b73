"""Does a frame's posture depend on the quality preset, or on the worker's size in the picture?

    .venv/bin/python benchmarks/preset_consistency.py

1. ``presets``: the demo analysed at ``low``, ``medium`` and ``high``.  Every preset reads frames at the same
   size (``pipeline.presets.ANALYSIS_LONG_SIDE``), so a frame is the same pixels for all three; what can still
   differ is the tracking before it (a region placed from another earlier frame, other filter steps).  Printed:
   the size each preset's plan reads frames at, and per angle the mean and largest difference between presets
   on the frames all three analyse.
2. ``sizes``: a full-body figure (the avatar in the ``@vladmandic/human`` npm package's screenshot, fetched with
   ``npm pack`` into ``~/.cache/ergo``) at heights from 600 px down, each frame on its own
   (``BlazePose.predict``), its angles against those at 600 px: the basis of ``pipeline.presets.MIN_PERSON_PX``.
   (Reading ``low`` at 480 px and ``high`` at 960 px, as the presets once did, moved the same frame's angles by up
   to 20 degrees on the demo: a single-frame estimate moves with the resolution alone.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
FIGURE_PACKAGE, FIGURE_FILE = "@vladmandic/human@3.3.6", "package/assets/screenshot-vrm.jpg"
HEIGHTS = (600, 400, 300, 250, 200, 150, 100)


def measured_angles(model, keypoints: np.ndarray, world: np.ndarray) -> dict[str, np.ndarray]:
    """Angles as the analysis measures them (3D where the world points allow)."""
    from pipeline.angles import AngleSettings, compute_angles, compute_world_angles, prefer_3d

    names = list(model.keypoint_names)
    return prefer_3d(compute_world_angles(world, keypoints, names, AngleSettings()), compute_angles(keypoints, names, AngleSettings()))[0]


def presets(model, folder: Path) -> dict:
    from pipeline.analysis import AnalysisOptions, Plan, analyze_video
    from pipeline.demo import make_demo_video
    from pipeline.presets import PRESETS

    video = make_demo_video(folder / "demo.mp4", fps=30)
    results = {name: analyze_video(video, model, AnalysisOptions(preset)) for name, preset in PRESETS.items()}
    common = sorted(set.intersection(*(set(result.frame_indices.tolist()) for result in results.values())))
    read_at = {name: list(Plan.of(video, AnalysisOptions(preset)).size) for name, preset in PRESETS.items()}
    report = {"frames_in_common": len(common), "read_at": read_at, "angles": {}}
    for angle in results["low"]["angles"]:
        values = np.stack([result.angles[angle][np.isin(result.frame_indices, common)] for result in results.values()])
        spread = np.ptp(values, axis=0)
        if np.isfinite(spread).any():
            report["angles"][angle] = [round(float(np.nanmean(spread)), 1), round(float(np.nanmax(spread)), 1)]
    return report


def figure() -> np.ndarray:
    """The full-body figure (about 600 px tall) on black, fetched once from the npm registry."""
    from PIL import Image

    cache = Path.home() / ".cache" / "ergo" / "figure.png"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run(["npm", "pack", FIGURE_PACKAGE, "--silent", "--pack-destination", folder], check=True, capture_output=True)
            with tarfile.open(next(Path(folder).glob("*.tgz"))) as archive:
                image = Image.open(archive.extractfile(FIGURE_FILE)).convert("RGB")
        image.crop((0, 0, 330, image.height)).save(cache)
    return np.asarray(Image.open(cache))


def sizes(model) -> dict:
    from skimage.transform import rescale

    person = figure()
    angles = {}
    for height in HEIGHTS:
        scaled = (rescale(person, height / 600, channel_axis=2, anti_aliasing=True) * 255).astype(np.uint8)
        canvas = np.zeros((scaled.shape[0] + 60, scaled.shape[1] * 3, 3), np.uint8)
        canvas[30:30 + scaled.shape[0], scaled.shape[1]:2 * scaled.shape[1]] = scaled
        pose = model.predict(canvas[None])
        angles[height] = {name: float(value[0]) for name, value in measured_angles(model, pose.keypoints[:, 0], pose.world[:, 0]).items()}
    reference = angles[HEIGHTS[0]]
    return {height: {name: round(value - reference[name], 1) for name, value in measured.items()
                     if np.isfinite(value) and np.isfinite(reference[name])} for height, measured in angles.items()}


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.pose import load_pose_model

    model = load_pose_model(AnalysisSettings().pose("blazepose"))
    with tempfile.TemporaryDirectory(prefix="ergo-presets-") as folder:
        print(json.dumps({"presets": presets(model, Path(folder)), "sizes": sizes(model)}, indent=1))


if __name__ == "__main__":
    main()
