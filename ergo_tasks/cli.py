"""The ``ergo`` command.

Each sub-command group registers itself through :data:`COMMANDS`, a list of
``(name, add_parser)`` pairs; later features (``analyze``, ``submit``,
``serve``, ``storage``) add their own entry in their own module.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from statestore import StoreError
from statestore.keys import UPLOADS, checkpoint_prefix, results_prefix

from .app import TaskApp
from .config import TaskSettings
from .ids import InvalidJobId
from .jobstore import JobNotFound
from .logs import configure_logging
from .models import JobStatus
from .queue import OperationRefused
from .states import READY_STATES, IllegalTransition, State
from .timeutil import isoformat, utcnow

#: Modules whose tasks every worker registers (the project's own jobs).
DEFAULT_TASK_MODULES: list[str] = ["ergo_tasks.video_job"]


def build_app(extra_modules: Sequence[str] = ()) -> TaskApp:
    """The process-wide app, with task modules from ``ERGO_IMPORTS`` and ``extra_modules`` imported."""
    from . import default_app
    from .worker import import_task_modules

    import_task_modules([*DEFAULT_TASK_MODULES, *default_app.settings.imports, *extra_modules])
    return default_app


# -- output ------------------------------------------------------------------
def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = {c: max([len(c)] + [len(str(row.get(c, ""))) for row in rows]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _row(doc: JobStatus) -> dict[str, Any]:
    return {
        "job_id": doc.job_id, "task": doc.task.rsplit(".", 1)[-1], "state": doc.state, "progress": f"{doc.progress:.0f}%",
        "stage": doc.stage, "attempts": doc.attempts, "updated": isoformat(doc.updated_at),
        "worker": doc.lease.worker_id if doc.lease else "",
    }


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _describe(doc: JobStatus) -> str:
    lines = [f"{key:>12}: {value}" for key, value in _row(doc).items()]
    lines.append(f"{'created':>12}: {isoformat(doc.created_at)}")
    lines.append(f"{'request':>12}: {json.dumps(doc.request.model_dump())}")
    if doc.checkpoint:
        lines.append(f"{'checkpoint':>12}: {doc.checkpoint}")
    if doc.lease:
        lines.append(f"{'lease until':>12}: {isoformat(doc.lease.expires_at)}")
    if doc.error:
        lines.append(f"{'error':>12}: {doc.error.type}: {doc.error.message}")
    for name, key in doc.result_keys.items():
        lines.append(f"{name:>12}: {key}")
    lines.append("     history:")
    for step in doc.history:
        who = f" by {step.worker}" if step.worker else ""
        lines.append(f"    {isoformat(step.at)}  {step.from_state or '-':>8} -> {step.to_state:<8}{who}  {step.reason}")
    return "\n".join(lines)


# -- commands -----------------------------------------------------------------
def cmd_worker(args: argparse.Namespace) -> int:
    from .worker import run_workers

    app = build_app(args.imports)
    run_workers(app, [*app.settings.imports, *args.imports], args.concurrency)
    return 0


def cmd_jobs_list(args: argparse.Namespace) -> int:
    state = State(args.state.upper()) if args.state else None
    docs = list(itertools.islice(build_app().jobs.recent(state=state), args.limit))
    if args.json:
        _print_json([doc.model_dump(mode="json", by_alias=True) for doc in docs])
    elif docs:
        print(_table([_row(doc) for doc in docs], ["job_id", "task", "state", "progress", "stage", "attempts", "updated", "worker"]))
    else:
        print("No jobs.")
    return 0


def cmd_jobs_show(args: argparse.Namespace) -> int:
    doc = build_app().jobs.read(args.job_id).doc
    if args.json:
        _print_json(doc.model_dump(mode="json", by_alias=True))
    else:
        print(_describe(doc))
    return 0


def cmd_jobs_resume(args: argparse.Namespace) -> int:
    doc = build_app().queue.resume(args.job_id, by="operator (ergo jobs resume)").doc
    print(f"Job {doc.job_id} is {doc.state} again; it continues from checkpoint {doc.checkpoint or '(none: from the start)'}.")
    return 0


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    doc = build_app().queue.revoke(args.job_id, by="operator", reason="cancelled with ergo jobs cancel").doc
    print(f"Job {doc.job_id} is {doc.state}; a running worker stops at its next checkpoint.")
    return 0


def cmd_jobs_purge(args: argparse.Namespace) -> int:
    app = build_app()
    cutoff = utcnow() - timedelta(days=args.older_than)
    victims = [doc for doc in app.jobs.recent()
               if doc.state in READY_STATES and (doc.finished_at or doc.updated_at) < cutoff]
    for doc in victims:
        upload = doc.request.kwargs.get("video_key")
        if not args.yes:
            print(f"would delete {doc.job_id} ({doc.state}, finished {isoformat(doc.finished_at or doc.updated_at)})")
            continue
        app.store.delete_prefix(checkpoint_prefix(doc.job_id))
        app.store.delete_prefix(results_prefix(doc.job_id))
        if isinstance(upload, str) and upload.startswith(UPLOADS):
            app.store.delete(upload)
        app.jobs.delete(doc.job_id)
        print(f"deleted {doc.job_id}")
    verb = "Deleted" if args.yes else "Would delete"
    print(f"{verb} {len(victims)} finished job(s) older than {args.older_than} day(s)." + ("" if args.yes else " Add --yes to delete."))
    return 0


def _add_worker(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("worker", help="run workers that execute queued jobs")
    parser.add_argument("--concurrency", "-c", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--imports", "-I", action="append", default=[], help="module defining tasks (repeatable)")
    parser.set_defaults(handler=cmd_worker)


def _add_jobs(sub: argparse._SubParsersAction) -> None:
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


def _add_analyze(sub: argparse._SubParsersAction) -> None:
    from .analyze_cmd import add_analyze

    add_analyze(sub)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    from .demo_cmd import add_demo

    add_demo(sub)


def _add_service_commands(sub: argparse._SubParsersAction) -> None:
    from .service_cmds import add_commands

    add_commands(sub)


def _add_models(sub: argparse._SubParsersAction) -> None:
    from .models_cmd import add_models

    add_models(sub)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_worker, _add_jobs, _add_analyze, _add_demo, _add_service_commands,
                                                                        _add_models]

#: Errors whose message is meant for the user: printed without a traceback.
_USER_ERRORS = (StoreError, JobNotFound, InvalidJobId, OperationRefused, IllegalTransition, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ergo", description="Ergonomic risk assessment from work videos.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    args = parser.parse_args(argv)
    settings = TaskSettings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        return args.handler(args)
    except _USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
