"""``ergo models fetch``: get the offline pose models (no model hub needed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.errors import ModelMissing
from pipeline.pose.assets import ASSETS, fetch

from ..analysis.settings import AnalysisSettings


def cmd_models_fetch(args: argparse.Namespace) -> int:
    names = ["pose_detection", f"pose_landmark_{args.variant}", "face_detection_short_range"] if args.variant != "all" else list(ASSETS)
    try:
        paths = fetch(AnalysisSettings().models_folder(), names, Path(args.source) if args.source else None, use_url=not args.no_url)
    except ModelMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path} (SHA-256 verified)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="offline pose models").add_subparsers(dest="models_command", required=True)
    fetch_parser = models.add_parser("fetch", help="fetch, verify and cache the BlazePose model files and BlazeFace's, to blur faces (into ERGO_MODELS_DIR)")
    fetch_parser.add_argument("--variant", choices=["lite", "full", "heavy", "all"], default="full", help="landmark model (default full)")
    fetch_parser.add_argument("--from", dest="source", metavar="DIR", help="a folder that already holds the .tflite files")
    fetch_parser.add_argument("--no-url", action="store_true", help="skip MediaPipe's asset URL, use the package registries only")
    fetch_parser.set_defaults(handler=cmd_models_fetch)
