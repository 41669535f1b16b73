"""``--start``/``--end`` on ``ergo analyze`` and ``ergo submit``: analyse only part of the video (a task cycle).

Times are seconds (``47.5``) or minutes and seconds (``1:05``), read by :func:`pipeline.time_range.parse_time`;
the range is checked by the one rule the API and the worker use (:meth:`pipeline.time_range.TimeRange.checked`).
"""

from __future__ import annotations

import argparse

from pipeline.time_range import TimeRange, parse_time


def _time(text: str) -> float:
    try:
        return parse_time(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_range_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("time range", "analyse only part of the video (e.g. one task cycle); an end past "
                                                    "the video's end is clipped to it, and the results say so")
    group.add_argument("--start", type=_time, metavar="TIME", help="from this time: seconds (12.5) or m:ss (0:12); default the start")
    group.add_argument("--end", type=_time, metavar="TIME", help="up to this time (not included); default the end")


def range_options(args: argparse.Namespace) -> dict[str, float]:
    """The range given, as ``start_s``/``end_s`` (none for the whole video); a range that is not one is refused in words."""
    span = TimeRange.checked(args.start, args.end)
    return {} if span is None else span.as_kwargs()
