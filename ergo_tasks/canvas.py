"""Celery's canvas, the parts this engine needs: signatures, ``group`` and ``chord``.

::

    group(add.s(1, 2), add.s(3, 4)).apply_async().get()      # [3, 7]: the jobs run side by side
    chord([add.s(1, 2), add.s(3, 4)])(tsum.s()).get()          # 10: tsum([3, 7]) once both succeeded

A group queues its jobs at once; any worker may take each.  A chord's body is
queued with them, waiting for them (its ``waiting_for``): no worker claims it
before every job of the header has succeeded, it then receives their results
(in the header's order) as its first argument, and it fails with the header
job's error when one fails or is cancelled.  No broker and no counter are
needed: the waiting is read from the status documents, like everything else.

A task that splits its own work (the video analysis over a long video) queues
its parts as a group and calls ``self.wait_for(parts)``: the same waiting,
with the task itself as the body (see :meth:`~ergo_tasks.execution.TaskContext.wait_for`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import OperationRefused
from .result import AsyncResult

if TYPE_CHECKING:
    from .task import Task


@dataclass(frozen=True)
class Signature:
    """A task with its arguments and ``apply_async`` options, to be queued later (``task.s(...)``)."""

    task: Task
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def set(self, **options: Any) -> Signature:
        """The same call with more ``apply_async`` options (``task_id``, ``idempotency_key``, ``countdown``...)."""
        return Signature(self.task, self.args, self.kwargs, {**self.options, **options})

    def apply_async(self, **options: Any) -> AsyncResult:
        return self.task.apply_async(self.args, self.kwargs, **{**self.options, **options})

    def delay(self) -> AsyncResult:
        return self.apply_async()


class GroupResult:
    """The results of a group's jobs, in the group's order."""

    def __init__(self, results: list[AsyncResult]):
        self.results = results

    @property
    def ids(self) -> list[str]:
        return [result.id for result in self.results]

    def ready(self) -> bool:
        return all(result.ready() for result in self.results)

    def successful(self) -> bool:
        return all(result.successful() for result in self.results)

    def completed_count(self) -> int:
        return sum(result.successful() for result in self.results)

    def get(self, timeout: float | None = None, interval: float = 0.2) -> list[Any]:
        """Every job's result, in order, once all have finished; raises the first failure."""
        return [result.get(timeout=timeout, interval=interval) for result in self.results]

    def revoke(self) -> None:
        """Cancel the jobs that have not finished."""
        for result in self.results:
            with contextlib.suppress(OperationRefused):  # finished already
                result.revoke()


class group:  # noqa: N801 - Celery's name
    """Jobs queued together, to run side by side."""

    def __init__(self, *signatures: Signature | Iterable[Signature]):
        if len(signatures) == 1 and not isinstance(signatures[0], Signature):
            signatures = tuple(signatures[0])
        self.signatures: list[Signature] = list(signatures)  # type: ignore[arg-type]

    def apply_async(self, **options: Any) -> GroupResult:
        """Queue every job (``options`` apply to each); in eager mode each runs as it is queued."""
        return GroupResult([signature.apply_async(**options) for signature in self.signatures])

    def delay(self) -> GroupResult:
        return self.apply_async()


class chord:  # noqa: N801 - Celery's name
    """A group (the header) and a job that runs with their results once they have all succeeded (the body)."""

    def __init__(self, header: group | Iterable[Signature], body: Signature | None = None):
        self.header = header if isinstance(header, group) else group(header)
        self.body = body

    def __call__(self, body: Signature | None = None, **options: Any) -> AsyncResult:
        return self.apply_async(body=body, **options)

    def apply_async(self, body: Signature | None = None, **options: Any) -> AsyncResult:
        """Queue the header's jobs, then the body waiting for them; returns the body's result."""
        body = body or self.body
        if body is None:
            raise TypeError("A chord needs a body: chord(header)(body) or chord(header, body).apply_async().")
        header = self.header.apply_async()
        return body.task.apply_async(body.args, body.kwargs, **{**body.options, **options}, waiting_for=header.ids,
                                     results_of=header.ids)
