"""``ergo rescore JOB``: score a finished job's poses again on a gateway (new task details, a time range), without
uploading or analysing the video again; follow the new job and fetch its files like ``ergo submit``."""

from __future__ import annotations

import argparse
import sys

from ..service.client import gateway_client
from ..service.errors import ApiFailure
from .submit import add_follow_flags, finish
from .task_details import add_flags, task_details
from .time_range import add_range_flags, range_options


def cmd_rescore(args: argparse.Namespace) -> int:
    client = gateway_client(args.url, args.token)
    try:
        changed = task_details(args)
        options: dict = range_options(args)  # checked before anything is asked
        if changed:  # the flags given change the original's details; the others stay as they were
            original = client.call("get_status", job_id=args.job_id)["job_status"]
            options["params"] = {**(original.get("task_params") or {}), **changed}
        answer = client.call("rescore_job", job_id=args.job_id, **options)
        print(f"Job {answer['job_id']} started: job {args.job_id} re-scored.", file=sys.stderr)
        return finish(client, answer["job_id"], args)
    except ApiFailure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("rescore", help="score a finished job again with other task details or over a time range (a new job)",
                            description="Score a finished job's poses again, as a new job linked to it: the task details "
                                        "given change the job's own (the others stay), --start/--end keep only part of "
                                        "the video. The video is not uploaded or analysed again.")
    parser.add_argument("job_id", help="the finished job to re-score")
    add_range_flags(parser)
    add_follow_flags(parser)
    add_flags(parser)
    parser.set_defaults(handler=cmd_rescore)
