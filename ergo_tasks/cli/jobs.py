"""``ergo worker`` and ``ergo jobs``: run the queue and operate its jobs."""

from __future__ import annotations

import argparse
import itertools

from .. import bootstrap
from ..analysis import TASK_MODULES
from ..analysis.retention import finished_before, purge_job, uploads_in_use
from ..states import State
from ..timeutil import isoformat
from ..worker import run_workers
from .output import describe, job_row, print_json, table

COLUMNS = ["job_id", "task", "state", "progress", "stage", "attempts", "updated", "worker"]


def cmd_worker(args: argparse.Namespace) -> int:
    modules = [*TASK_MODULES, *args.imports]
    run_workers(bootstrap.start(modules), modules, args.concurrency)
    return 0


def cmd_jobs_list(args: argparse.Namespace) -> int:
    state = State(args.state.upper()) if args.state else None
    docs = list(itertools.islice(bootstrap.start().jobs.recent(state=state), args.limit))
    if args.json:
        print_json([doc.model_dump(mode="json", by_alias=True) for doc in docs])
    elif docs:
        print(table([job_row(doc) for doc in docs], COLUMNS))
    else:
        print("No jobs.")
    return 0


def cmd_jobs_show(args: argparse.Namespace) -> int:
    doc = bootstrap.start().jobs.read(args.job_id).doc
    if args.json:
        print_json(doc.model_dump(mode="json", by_alias=True))
    else:
        print(describe(doc))
    return 0


def cmd_jobs_resume(args: argparse.Namespace) -> int:
    doc = bootstrap.start().queue.resume(args.job_id, by="operator (ergo jobs resume)").doc
    print(f"Job {doc.job_id} is {doc.state} again; it continues from checkpoint {doc.checkpoint or '(none: from the start)'}.")
    return 0


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    doc = bootstrap.start().queue.revoke(args.job_id, by="operator", reason="cancelled with ergo jobs cancel").doc
    print(f"Job {doc.job_id} is {doc.state}; a running worker stops at its next checkpoint.")
    return 0


def cmd_jobs_purge(args: argparse.Namespace) -> int:
    app = bootstrap.start()
    victims = list(finished_before(app, args.older_than))
    keep = uploads_in_use(app)
    deleted = 0
    for doc in victims:
        if not args.yes:
            print(f"would delete {doc.job_id} ({doc.state}, finished {isoformat(doc.finished_at or doc.updated_at)})")
        elif purge_job(app, doc.job_id, keep):
            deleted += 1
            print(f"deleted {doc.job_id}")
        else:
            print(f"kept {doc.job_id}: it changed while purging (resumed?)")
    if args.yes:
        print(f"Deleted {deleted} finished job(s) older than {args.older_than} day(s).")
    else:
        print(f"Would delete {len(victims)} finished job(s) older than {args.older_than} day(s). Add --yes to delete.")
    if keep:
        print(f"Videos still needed by unfinished jobs are kept ({len(keep)}).")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    worker = sub.add_parser("worker", help="run workers that execute queued jobs")
    worker.add_argument("--concurrency", "-c", type=int, default=1, help="worker processes (default 1)")
    worker.add_argument("--imports", "-I", action="append", default=[], help="module with a register(app) function (repeatable)")
    worker.set_defaults(handler=cmd_worker)

    jobs = sub.add_parser("jobs", help="inspect and operate jobs").add_subparsers(dest="jobs_command", required=True)
    listing = jobs.add_parser("list", help="recent jobs, newest first")
    listing.add_argument("--state", choices=[s.value for s in State] + [s.value.lower() for s in State])
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_jobs_list)
    show = jobs.add_parser("show", help="one job's status document")
    show.add_argument("job_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_jobs_show)
    for name, handler, text in [("resume", cmd_jobs_resume, "continue a failed, cancelled or stalled job from its checkpoint"),
                                ("cancel", cmd_jobs_cancel, "cancel a queued or running job")]:
        parser = jobs.add_parser(name, help=text)
        parser.add_argument("job_id")
        parser.set_defaults(handler=handler)
    purge = jobs.add_parser("purge", help="delete finished jobs and their files (dry run unless --yes)")
    purge.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    purge.add_argument("--yes", action="store_true", help="really delete")
    purge.set_defaults(handler=cmd_jobs_purge)
