"""``ergo my-jobs``: your own analyses on a gateway, newest first, as the page's "My analyses" lists them.

``ergo jobs list`` is the operator's console on the bucket (every job); this asks the gateway, with your token,
for your jobs only (``list_my_jobs``).
"""

from __future__ import annotations

import argparse
import sys

from ..service.client import gateway_client
from ..service.errors import ApiFailure
from .output import print_json, table
from .submit import add_gateway_flags

COLUMNS = ["job_id", "created", "video", "record", "status", "verdict", "rula", "reba"]


def score_words(headline: dict | None) -> str:
    """A headline score with its level's words ("6 investigate and change soon"), "-" where there is none."""
    return f"{headline['max']} {headline['label']}" if headline else "-"


def row(job: dict) -> dict:
    record = " · ".join(value for value in (job["record"]["station"], job["record"]["task"]) if value)
    rescored = f" (re-scored from {job['rescored_from']})" if job.get("rescored_from") else ""
    return {"job_id": job["job_id"], "created": job["created_at"][:16].replace("T", " "), "video": (job["filename"] or "-") + rescored,
            "record": record or "-", "status": job["status"], "verdict": job["verdict"] or "-",
            "rula": score_words(job["rula"]), "reba": score_words(job["reba"])}


def cmd_my_jobs(args: argparse.Namespace) -> int:
    filters = {name: value for name in ("station", "task", "text", "cursor") if (value := getattr(args, name))}
    try:
        answer = gateway_client(args.url, args.token).call("list_my_jobs", limit=args.limit, **filters)
    except ApiFailure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print_json({"jobs": answer["jobs"], "next_cursor": answer["next_cursor"]})
        return 0
    print(table([row(job) for job in answer["jobs"]], COLUMNS) if answer["jobs"] else "No analyses.")
    if answer["next_cursor"]:
        print(f"More: add --cursor {answer['next_cursor']}", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    mine = sub.add_parser("my-jobs", help="your own analyses on a gateway, newest first (the page's My analyses)")
    add_gateway_flags(mine)
    mine.add_argument("--station", help="only this station (exactly, in any case)")
    mine.add_argument("--task", help="only this task (exactly, in any case)")
    mine.add_argument("--text", help="only jobs with this text in the video's name or the task record")
    mine.add_argument("--limit", type=int, default=20, help="at most this many (1-100)")
    mine.add_argument("--cursor", help="continue after this job (the id the last page ended with)")
    mine.add_argument("--json", action="store_true")
    mine.set_defaults(handler=cmd_my_jobs)
