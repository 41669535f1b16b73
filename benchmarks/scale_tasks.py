"""The trivial task `benchmarks/queue_scale.py` runs: the cost of a job is then the engine's alone."""

from __future__ import annotations

from ergo_tasks import TaskApp


def register(app: TaskApp) -> None:
    app.task(name="bench.noop")(noop)


def noop(index: int) -> int:
    return index
