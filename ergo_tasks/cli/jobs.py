"""``ergo worker`` and ``ergo jobs``: run the queue and operate its jobs."""

from __future__ import annotations

import argparse
import itertools

from .. import bootstrap
from ..analysis import TASK_MODULES
from ..service.actions import build_service
from ..service.errors import ServiceError
from ..service.requests import OPERATOR_CONSOLE
from ..states import State
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


def operate(action: str, **params) -> dict:
    """An operator's action through the service, as the API runs it: a cancel withdraws the RunPod request, a
    resumed job is dispatched at once (``ERGO_DISPATCH_MODE`` and the RunPod settings as the gateway has them)."""
    answer = build_service(bootstrap.start(TASK_MODULES)).handle(action, params, OPERATOR_CONSOLE)
    if answer["status"] == "error":
        raise ServiceError(answer["error"], code=answer["code"])
    return answer


def cmd_jobs_resume(args: argparse.Namespace) -> int:
    answer = operate("resume_job", job_id=args.job_id)
    status = answer["job_status"]
    print(f"Job {status['job_id']} is {status['state']} again: {answer['message']}")
    return 0


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    answer = operate("cancel_job", job_id=args.job_id)
    print(f"Job {answer['job_status']['job_id']} is {answer['job_status']['state']}. {answer['message']}")
    return 0


def cmd_jobs_purge(args: argparse.Namespace) -> int:
    if not args.yes:
        answer = operate("purge_jobs", older_than_days=args.older_than, limit=1000)
        for job in answer["would_delete"]:
            print(f"would delete {job['job_id']} ({job['state']}, finished {job['finished_at']})")
        more = " (and more: the first 1000 are listed)" if answer["more"] else ""
        print(f"Would delete {len(answer['would_delete'])} finished job(s){more} older than {args.older_than} day(s). "
              "Add --yes to delete.")
        return 0
    deleted = 0
    while True:
        answer = operate("purge_jobs", older_than_days=args.older_than, dry_run=False)
        for job_id in answer["deleted"]:
            print(f"deleted {job_id}")
        for job_id in answer["kept"]:
            print(f"kept {job_id}: it changed while purging (resumed?)")
        deleted += len(answer["deleted"])
        if not answer["more"] or not answer["deleted"]:
            break
    print(f"Deleted {deleted} finished job(s) older than {args.older_than} day(s); videos that a job can still use are kept.")
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
