"""``ergo compare BEFORE AFTER``: two analyses side by side, in words, and their comparison PDF (issue 28, item 5)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.comparison import Comparison, comparison_lines

from .. import bootstrap
from ..service.comparing import comparison_pdf_key
from .jobs import operate


def cmd_compare(args: argparse.Namespace) -> int:
    answer = operate("compare_jobs", before=args.before, after=args.after)
    print("\n".join(comparison_lines(Comparison.model_validate(answer["comparison"]))))
    if args.pdf:
        # the PDF the action kept, read from the store this console reaches (its link is for a browser)
        bootstrap.start().store.download_file(comparison_pdf_key(args.before, args.after), args.pdf)
        print(f"Comparison PDF: {Path(args.pdf).resolve()}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    compare = sub.add_parser("compare", help="two completed analyses side by side: before and after a change")
    compare.add_argument("before", help="the job before the change")
    compare.add_argument("after", help="the job after it")
    compare.add_argument("--pdf", type=Path, metavar="OUT.pdf", help="also save the comparison PDF here")
    compare.set_defaults(handler=cmd_compare)
