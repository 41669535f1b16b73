"""``ergo submit VIDEO``: upload a video to a gateway, start its analysis, follow it, fetch the results."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pipeline.presets import DEFAULT_PRESET, PRESETS
from pipeline.results import FILES, PICTURES

from ..service.client import ApiClient, download, gateway_client, upload_video
from ..service.errors import ApiFailure
from ..service.settings import ClientSettings
from .output import JobProgress
from .record import add_record_flags, record_from
from .task_details import add_flags, task_details
from .time_range import add_range_flags, range_options

FINISHED = ("completed", "failed", "cancelled")


def cmd_submit(args: argparse.Namespace) -> int:
    video = Path(args.video)
    if not video.is_file():
        print(f"error: {video} does not exist or is not a file.", file=sys.stderr)
        return 2
    settings = ClientSettings()
    client = gateway_client(args.url, args.token)
    try:
        params, record = task_details(args), record_from(args)  # both checked before a byte is sent
        span = range_options(args)  # checked before the upload
        video_key = upload_video(client, video, show=not args.quiet, state_dir=settings.upload_state_dir)
        options = {**({"params": params} if params else {}), **({"overlay": args.overlay} if args.overlay is not None else {}),
                   **({"record": record.model_dump()} if record else {})}
        job_id = client.call("start_processing", video_key=video_key, quality=args.quality, blur_faces=args.blur_faces,
                             **options, **span)["job_id"]
        print(f"Job {job_id} started.", file=sys.stderr)
        return finish(client, job_id, args)
    except ApiFailure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


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


def add_gateway_flags(command: argparse.ArgumentParser) -> None:
    """--url and --token: which gateway a command calls, as whom."""
    command.add_argument("--url", help="the gateway (default ERGO_API_URL or http://127.0.0.1:8000)")
    command.add_argument("--token", help="API token (default ERGO_API_TOKEN)")


def add_follow_flags(command: argparse.ArgumentParser) -> None:
    """The flags of a command that starts a job on a gateway and may follow it to its files (:func:`finish`)."""
    command.add_argument("--wait", action="store_true", help="follow the job and download the results")
    command.add_argument("--out", help="folder for the results (default ergo-results/JOB_ID)")
    add_gateway_flags(command)
    command.add_argument("--poll", type=float, default=2.0, help="first polling interval in seconds (grows to 10)")
    command.add_argument("--quiet", action="store_true")


def add_commands(sub: argparse._SubParsersAction) -> None:
    submit = sub.add_parser("submit", help="upload a video to a gateway and start (and follow) its analysis")
    submit.add_argument("video")
    submit.add_argument("--quality", choices=list(PRESETS), default=DEFAULT_PRESET)
    add_follow_flags(submit)
    submit.add_argument("--no-blur-faces", dest="blur_faces", action="store_false",
                        help="leave faces unblurred in the posture pictures (they are blurred by default)")
    submit.add_argument("--overlay", action=argparse.BooleanOptionalAction, default=None,
                        help="write the annotated video overlay.mp4 (default: on, except at quality low)")
    add_flags(submit)
    add_record_flags(submit)
    add_range_flags(submit)
    submit.set_defaults(handler=cmd_submit)
