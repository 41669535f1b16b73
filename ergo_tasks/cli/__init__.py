"""The ``ergo`` command: one small module per command group, printing only.

Owns: argument parsing and output (:mod:`.output`).  The work each command
does lives in the layers below it (the engine, :mod:`ergo_tasks.analysis`,
:mod:`ergo_tasks.service`); nothing imports this package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.errors import PipelineError
from statestore import StoreError

from .. import bootstrap
from ..errors import EngineError
from ..service.errors import ServiceError
from . import analyze, compare, demo, jobs, models, my_jobs, record, rescore, serve, storage, submit

#: Each module adds its sub-commands to the parser.
COMMAND_MODULES = (jobs, analyze, demo, serve, submit, rescore, my_jobs, record, storage, models, compare)

#: Errors whose message is meant for the user: printed without a traceback.
USER_ERRORS = (StoreError, EngineError, ServiceError, PipelineError, ValueError)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ergo", description="Ergonomic risk assessment from work videos.")
    sub = root.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    bootstrap.configure()
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
