"""The task record on the command line: ``--station --task --department --assessor --notes`` for ``ergo analyze``
and ``ergo submit``, and ``ergo record JOB`` to read or change a job's record later.

The flags are made from :class:`~pipeline.task_record.TaskRecord`, the record's one definition, and checked by it
with the words the API uses.  ``ergo record`` changes only the fields given (the others stay as they are); a
completed job's PDF report and workbook are written again with the new record, nothing is analysed again.  It talks
to the configured storage as an operator (as ``ergo jobs`` does), or with ``--url`` to a gateway as a client.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from pipeline.results import FILES, RECORD_FILES
from pipeline.task_record import LABELS, TaskRecord

from .. import bootstrap
from ..analysis import TASK_MODULES
from ..errors import validation_message
from ..service.client import ApiClient, download
from ..service.settings import ClientSettings
from .jobs import operate

Call = Callable[..., dict]


def add_record_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("task record", "which station and task this is, who assessed it, notes: shown in "
                                                     "the results, the PDF report and the workbook; changed later with "
                                                     "`ergo record JOB`")
    for name, field in TaskRecord.model_fields.items():
        limit = next(rule.max_length for rule in field.metadata if hasattr(rule, "max_length"))
        group.add_argument(f"--{name}", dest=f"record_{name}", metavar="TEXT", default=None,
                           help=f"{field.description} (at most {limit} characters)")


def given_fields(args: argparse.Namespace) -> dict[str, str]:
    """The record's fields given on the command line (an empty string empties a field)."""
    return {name: value for name in LABELS if (value := getattr(args, f"record_{name}", None)) is not None}


def checked_record(fields: dict) -> TaskRecord:
    try:
        return TaskRecord(**fields)
    except ValidationError as error:
        raise ValueError(f"Invalid task record: {validation_message(error.errors())}") from None


def record_from(args: argparse.Namespace) -> TaskRecord | None:
    """The task record given with ``ergo analyze``/``submit``, checked; None when no field was given."""
    fields = given_fields(args)
    return checked_record(fields) if fields else None


def cmd_record(args: argparse.Namespace) -> int:
    given = given_fields(args)
    call = _gateway(args) if args.url else operate
    status = call("get_status", job_id=args.job_id)["job_status"]
    message = None
    if given:
        record = checked_record({**status["record"], **given})  # checked before anything is sent
        answer = call("update_record", job_id=args.job_id, record=record.model_dump())
        status, message = answer["job_status"], answer["message"]
        if args.out:
            _fetch_files(args, status, Path(args.out))
    if args.json:
        print(json.dumps(status["record"], indent=2))
    else:
        width = max(map(len, LABELS.values()))
        for name, label in LABELS.items():
            print(f"{label + ':':<{width + 1}} {status['record'][name] or '-'}")
    if message:
        print(message, file=sys.stderr)
    return 0


def _gateway(args: argparse.Namespace) -> Call:
    settings = ClientSettings()
    token = args.token or (settings.api_token.get_secret_value() if settings.api_token else None)
    return ApiClient(args.url, token).call


def _fetch_files(args: argparse.Namespace, status: dict, out: Path) -> None:
    """The rewritten workbook and report into ``out`` (where ``ergo analyze --out`` or ``ergo submit --out`` put them)."""
    out.mkdir(parents=True, exist_ok=True)
    if args.url:
        call = _gateway(args)
        for artifact in RECORD_FILES:
            download(call("generate_download_url", job_id=status["job_id"], artifact=artifact)["download_url"], out / FILES[artifact])
    else:
        app = bootstrap.start(TASK_MODULES)
        keys = app.jobs.read(status["job_id"]).doc.result_keys
        for artifact in RECORD_FILES:
            app.store.download_file(keys[artifact], out / FILES[artifact])
    print(f"Written again: {', '.join(str(out / FILES[artifact]) for artifact in RECORD_FILES)}", file=sys.stderr)


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("record", help="show or change a job's task record (station, task, assessor, notes)",
                            description="Show a job's task record, or change the fields given; a completed job's PDF "
                                        "report and workbook are written again with it (nothing is analysed again).")
    parser.add_argument("job_id", metavar="JOB_ID")
    parser.add_argument("--url", help="a gateway to ask (as a client, with --token or ERGO_API_TOKEN); without it, the "
                                      "configured storage, as an operator")
    parser.add_argument("--token", help="API token (default ERGO_API_TOKEN)")
    parser.add_argument("--out", help="after a change, save the new report.pdf and report.xlsx into this folder")
    parser.add_argument("--json", action="store_true", help="print the record as JSON")
    add_record_flags(parser)
    parser.set_defaults(handler=cmd_record)
