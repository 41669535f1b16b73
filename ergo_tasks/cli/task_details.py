"""Task details on the command line: one flag per :class:`~pipeline.assessment.AssessmentParams` field.

The flags are made from the model, so the model stays the one list of what a job may say about the task
(load, force, coupling, activity, ...) and its limits; values are checked by it with the same words the API uses.
"""

from __future__ import annotations

import argparse
import typing

from pydantic import ValidationError

from pipeline.assessment import FOLLOWING, AssessmentParams

from ..errors import validation_message


def add_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("task details", "what the video cannot show (the RULA/REBA worksheets' other "
                                                      "questions); recorded in the results")
    for name, field in AssessmentParams.model_fields.items():
        flag = "--" + name.replace("_", "-")
        words = field.description or name.replace("_", " ")
        # "int | None": a detail that, unset, follows from the others (RULA's force from the load) or is estimated
        kind = next((t for t in typing.get_args(field.annotation) if t is not type(None)), field.annotation)
        unset = "follows from the load and the activity" if name in FOLLOWING else "not given"
        if kind is bool:
            default = unset if field.default is None else "yes" if field.default else "no"
            group.add_argument(flag, dest=f"task_{name}", action=argparse.BooleanOptionalAction, default=None,
                               help=f"{words} (default: {default})")
        else:
            default = unset if field.default is None else f"{field.default:g}"
            group.add_argument(flag, dest=f"task_{name}", type=kind, default=None, metavar="N", help=f"{words} (default {default})")


def task_details(args: argparse.Namespace) -> dict | None:
    """The task details given on the command line, checked; None when none were given."""
    given = {name: getattr(args, f"task_{name}") for name in AssessmentParams.model_fields
             if getattr(args, f"task_{name}", None) is not None}
    if not given:
        return None
    try:
        AssessmentParams(**given)
    except ValidationError as error:
        raise ValueError(f"Invalid task details: {validation_message(error.errors())}") from None
    return given
