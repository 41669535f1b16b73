"""``ergo serve``, ``ergo submit`` and ``ergo storage init``."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from statestore import open_store
from statestore.keys import CHECKPOINTS, RESULTS, UPLOADS


# -- ergo serve ---------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .gateway import GatewaySettings, build_gateway

    settings = GatewaySettings()
    if args.backend:
        settings.serve_backend = args.backend
    if args.workers is not None:
        settings.serve_workers = args.workers
    app = build_gateway(args.host, args.port, settings)
    print(f"ergo serve: http://{args.host}:{args.port}/ (API docs at /docs), backend {settings.serve_backend}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


# -- ergo submit ----------------------------------------------------------------------------
class ApiFailure(Exception):
    pass


class ApiClient:
    """A small client of the gateway's JSON API."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60.0):
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def call(self, action: str, **params) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.base_url}/api/{action}", data=json.dumps(params).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read())
            except ValueError:
                raise ApiFailure(f"The server answered HTTP {error.code}.") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise ApiFailure(f"Cannot reach {self.base_url} ({getattr(error, 'reason', error)}).") from None
        if body.get("status") != "success":
            raise ApiFailure(f"{body.get('error', 'unknown error')} [{body.get('code', '?')}]")
        return body


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def upload_file(url: str, path: Path, content_type: str, show: bool = True, chunk: int = 1 << 20) -> None:
    """PUT ``path`` to a signed URL, streaming it, with a progress line (bytes, speed, time left)."""
    parts = urllib.parse.urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.netloc, timeout=300)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    total = path.stat().st_size
    connection.putrequest("PUT", target, skip_accept_encoding=True)
    connection.putheader("Content-Type", content_type)
    connection.putheader("Content-Length", str(total))
    connection.endheaders()
    sent, started = 0, time.monotonic()
    with open(path, "rb") as source:
        while block := source.read(chunk):
            connection.send(block)
            sent += len(block)
            if show:
                speed = sent / max(time.monotonic() - started, 1e-6)
                left = (total - sent) / speed if speed else 0
                sys.stderr.write(f"\rUploading {_human(sent)} / {_human(total)} at {_human(speed)}/s, {left:.0f} s left   ")
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if show:
        sys.stderr.write("\n")
    if response.status >= 300:
        raise ApiFailure(f"The upload was refused (HTTP {response.status}): {body[:200].decode(errors='replace')}")


def download(url: str, target: Path) -> None:
    partial = target.with_name(target.name + ".part")
    with urllib.request.urlopen(url, timeout=300) as response, open(partial, "wb") as out:
        while block := response.read(1 << 20):
            out.write(block)
    partial.replace(target)


def cmd_submit(args: argparse.Namespace) -> int:
    video = Path(args.video)
    if not video.is_file():
        print(f"error: {video} does not exist or is not a file.", file=sys.stderr)
        return 2
    client = ApiClient(args.url, args.token)
    try:
        slot = client.call("generate_upload_url", filename=video.name)
        upload_file(slot["upload_url"], video, slot["content_type"], show=not args.quiet)
        job_id = client.call("start_processing", video_key=slot["video_key"], quality=args.quality)["job_id"]
        print(f"Job {job_id} started.", file=sys.stderr)
        if not args.wait:
            print(job_id)
            return 0
        delay = args.poll
        while True:
            status = client.call("get_status", job_id=job_id)["job_status"]
            if not args.quiet:
                frames = f" {status['frames_done']}/{status['frames_total']} frames" if status.get("frames_total") else ""
                sys.stderr.write(f"\r{status['status']}: {status['progress']:5.1f}% {status['stage']}{frames}".ljust(80))
            if status["status"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(delay)
            delay = min(delay * 1.5, 10.0)
        if not args.quiet:
            sys.stderr.write("\n")
        if status["status"] != "completed":
            print(f"error: job {job_id} {status['status']}: {status.get('error') or ''}", file=sys.stderr)
            return 1
        out = Path(args.out or Path("ergo-results") / job_id)
        out.mkdir(parents=True, exist_ok=True)
        for artifact in status["artifacts"]:
            url = client.call("generate_download_url", job_id=job_id, artifact=artifact)["download_url"]
            name = {"pkl": "result.pkl", "json": "summary.json", "csv": "frames.csv", "xlsx": "report.xlsx"}[artifact]
            download(url, out / name)
        print(json.dumps({"job_id": job_id, "out": str(out), "rula_max": status["summary"]["rula"]["max"],
                          "reba_max": status["summary"]["reba"]["max"]}))
        return 0
    except ApiFailure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


# -- ergo storage init ------------------------------------------------------------------------
def cmd_storage_init(args: argparse.Namespace) -> int:
    from statestore.s3 import S3Store, configure_bucket

    store = open_store()
    if not isinstance(store, S3Store):
        print(f"The {store.provider} backend needs no setup (files live under {getattr(store, 'root', '?')}); "
              "use `ergo jobs purge` to remove old jobs.")
        return 0
    created = store.create_bucket()
    origins = [o.strip() for o in (args.cors_origin or os.environ.get("ERGO_CORS_ORIGINS", "")).split(",") if o.strip()]
    expire = {UPLOADS: args.expire_uploads_days, CHECKPOINTS: args.expire_checkpoints_days, RESULTS: args.expire_results_days}
    configure_bucket(store, origins, expire)
    print(f"Bucket {store.bucket} {'created' if created else 'exists'}; CORS allows PUT/GET from {', '.join(origins) or 'any origin'}; "
          + ", ".join(f"{prefix} expire after {days} days" for prefix, days in expire.items() if days > 0) + ".")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="serve the web page and the job API on this machine")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--backend", choices=["embedded", "runpod"], help="default: ERGO_SERVE_BACKEND or embedded")
    serve.add_argument("--workers", type=int, help="in-process workers for the embedded backend (default 1)")
    serve.set_defaults(handler=cmd_serve)

    submit = sub.add_parser("submit", help="upload a video to a gateway and start (and follow) its analysis")
    submit.add_argument("video")
    submit.add_argument("--quality", choices=["low", "medium", "high"], default="medium")
    submit.add_argument("--wait", action="store_true", help="follow the job and download the results")
    submit.add_argument("--out", help="folder for the results (default ergo-results/JOB_ID)")
    submit.add_argument("--url", default=os.environ.get("ERGO_API_URL", "http://127.0.0.1:8000"))
    submit.add_argument("--token", default=os.environ.get("ERGO_API_TOKEN"))
    submit.add_argument("--poll", type=float, default=2.0, help="first polling interval in seconds (grows to 10)")
    submit.add_argument("--quiet", action="store_true")
    submit.set_defaults(handler=cmd_submit)

    storage = sub.add_parser("storage", help="set up the object storage").add_subparsers(dest="storage_command", required=True)
    init = storage.add_parser("init", help="create the bucket, its CORS rule and lifecycle expiry")
    init.add_argument("--cors-origin", help="comma-separated origins allowed to upload (default ERGO_CORS_ORIGINS or any)")
    init.add_argument("--expire-uploads-days", type=int, default=7)
    init.add_argument("--expire-checkpoints-days", type=int, default=7)
    init.add_argument("--expire-results-days", type=int, default=30)
    init.set_defaults(handler=cmd_storage_init)
