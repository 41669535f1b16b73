"""``ergo submit VIDEO``: upload a video to a gateway, start its analysis, follow it, fetch the results."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pipeline.presets import DEFAULT_PRESET, PRESETS
from pipeline.results import FILES, PICTURES

from ..service.client import ApiClient, download, upload_video
from ..service.errors import ApiFailure
from ..service.settings import ClientSettings
from .output import JobProgress
from .task_details import add_flags, task_details

FINISHED = ("completed", "failed", "cancelled")


def cmd_submit(args: argparse.Namespace) -> int:
    video = Path(args.video)
    if not video.is_file():
        print(f"error: {video} does not exist or is not a file.", file=sys.stderr)
        return 2
    client = client_for(args)
    try:
        params = task_details(args)
        video_key = upload_video(client, video, show=not args.quiet, state_dir=ClientSettings().upload_state_dir)
        options = {**({"params": params} if params else {}), **({"overlay": args.overlay} if args.overlay is not None else {})}
        job_id = client.call("start_processing", video_key=video_key, quality=args.quality, blur_faces=args.blur_faces,
                             **options)["job_id"]
        print(f"Job {job_id} started.", file=sys.stderr)
        return finish(client, job_id, args)
    except ApiFailure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def client_for(args: argparse.Namespace) -> ApiClient:
    """The gateway's client, from the flags or the environment (ERGO_API_URL, ERGO_API_TOKEN)."""
    settings = ClientSettings()
    token = args.token or (settings.api_token.get_secret_value() if settings.api_token else None)
    return ApiClient(args.url or settings.api_url, token)


def finish(client: ApiClient, job_id: str, args: argparse.Namespace) -> int:
    """After a job was started: print its id, or (``--wait``) follow it, download its files and print where."""
    if not args.wait:
        print(job_id)
        return 0
    status = follow(client, job_id, args.poll, args.quiet)
    if status["status"] != "completed":
        print(f"error: job {job_id} {status['status']}: {status.get('error') or ''}", file=sys.stderr)
        return 1
    out = Path(args.out or Path("ergo-results") / job_id)
    out.mkdir(parents=True, exist_ok=True)
    for artifact in status["artifacts"]:
        url = client.call("generate_download_url", job_id=job_id, artifact=artifact)["download_url"]
        download(url, out / FILES[artifact])
    for picture in status.get("pictures") or []:  # signed with the status just read
        (out / PICTURES).mkdir(exist_ok=True)
        download(picture["url"], out / PICTURES / picture["url"].split("?")[0].rsplit("/", 1)[-1])
    print(json.dumps({"job_id": job_id, "out": str(out), "rula_max": status["summary"]["rula"]["max"],
                      "reba_max": status["summary"]["reba"]["max"]}))
    return 0


def follow(client: ApiClient, job_id: str, first_delay: float, quiet: bool) -> dict:
    """Poll the job's status, backing off to 10 s, until it is finished; returns the last status."""
    bar = JobProgress(show=not quiet)
    delay = first_delay
    try:
        while True:
            status = client.call("get_status", job_id=job_id)["job_status"]
            finished = status["status"] in FINISHED
            stage = status["status"] if finished else status["stage"] or status["status"]  # "completed", not the last stage
            bar.update(status["progress"], stage, status.get("frames_done"), status.get("frames_total"))
            if finished:
                return status
            time.sleep(delay)
            delay = min(delay * 1.5, 10.0)
    finally:
        bar.close()


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of a command that starts a job on a gateway and may follow it (:func:`finish`)."""
    parser.add_argument("--wait", action="store_true", help="follow the job and download the results")
    parser.add_argument("--out", help="folder for the results (default ergo-results/JOB_ID)")
    parser.add_argument("--url", help="the gateway (default ERGO_API_URL or http://127.0.0.1:8000)")
    parser.add_argument("--token", help="API token (default ERGO_API_TOKEN)")
    parser.add_argument("--poll", type=float, default=2.0, help="first polling interval in seconds (grows to 10)")
    parser.add_argument("--quiet", action="store_true")


def add_commands(sub: argparse._SubParsersAction) -> None:
    submit = sub.add_parser("submit", help="upload a video to a gateway and start (and follow) its analysis")
    submit.add_argument("video")
    submit.add_argument("--quality", choices=list(PRESETS), default=DEFAULT_PRESET)
    add_client_flags(submit)
    submit.add_argument("--no-blur-faces", dest="blur_faces", action="store_false",
                        help="leave faces unblurred in the posture pictures (they are blurred by default)")
    submit.add_argument("--overlay", action=argparse.BooleanOptionalAction, default=None,
                        help="write the annotated video overlay.mp4 (default: on, except at quality low)")
    add_flags(submit)
    submit.set_defaults(handler=cmd_submit)
