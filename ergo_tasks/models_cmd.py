"""``ergo models fetch``: get the offline pose models (no model hub needed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_models_fetch(args: argparse.Namespace) -> int:
    from pipeline.pose.assets import ASSETS, ModelMissing, fetch

    names = ["pose_detection", f"pose_landmark_{args.variant}"] if args.variant != "all" else list(ASSETS)
    try:
        paths = fetch(names, Path(args.source) if args.source else None, use_url=not args.no_url)
    except ModelMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path} (SHA-256 verified)")
    return 0


def add_models(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="offline pose models").add_subparsers(dest="models_command", required=True)
    fetch = models.add_parser("fetch", help="fetch, verify and cache the BlazePose model files")
    fetch.add_argument("--variant", choices=["lite", "full", "heavy", "all"], default="full", help="landmark model (default full)")
    fetch.add_argument("--from", dest="source", metavar="DIR", help="a folder that already holds the .tflite files")
    fetch.add_argument("--no-url", action="store_true", help="skip MediaPipe's asset URL, use the package registries only")
    fetch.set_defaults(handler=cmd_models_fetch)
