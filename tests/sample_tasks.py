"""Tasks that worker subprocesses run in the tests (registered with ``-I tests.sample_tasks``)."""

from __future__ import annotations

import time
import uuid

import structlog

from ergo_tasks import TaskApp


def register(app: TaskApp) -> None:
    app.task(name="tests.record_execution")(lambda job_marker: record_execution(app, job_marker))
    app.task(name="tests.steps", bind=True, max_retries=3)(steps)
    app.task(name="tests.explode")(explode)
    app.task(name="tests.add")(add)
    app.task(name="tests.total")(total)
    app.task(name="tests.refuse", throws=(ValueError,), max_retries=0)(refuse)
    app.task(name="tests.split", bind=True)(split)
    app.task(name="tests.chatter", bind=True, max_retries=0)(chatter)


def add(x: float, y: float, delay: float = 0.0) -> float:
    time.sleep(delay)
    return x + y


def total(values: list[float], offset: float = 0.0) -> float:
    return sum(values) + offset


def refuse(message: str) -> None:
    """An expected failure (``throws``): its message is for the submitter."""
    raise ValueError(message)


def split(self, numbers: list[float], delay: float = 0.0, fail_at: int | None = None) -> dict:
    """Adds each number to itself in a part of its own, then sums the parts: a task that splits its work."""
    parts = [(self.task.app.tasks["tests.refuse"].s(f"part {i} refused") if i == fail_at
              else self.task.app.tasks["tests.add"].s(n, n, delay)).set(idempotency_key=f"{self.request.id}/part/{i}", parent=self.request.id)
             for i, n in enumerate(numbers)]
    self.update_state(meta={"stage": "handing out parts"})
    results = self.wait_for([part.apply_async() for part in parts])
    return {"total": sum(results), "runs": self.request.attempts}


def record_execution(app: TaskApp, job_marker: str) -> str:
    """Leaves one object per execution, so the test can count executions per job."""
    app.store.put(f"executions/{job_marker}/{uuid.uuid4().hex}", b"")
    return job_marker


def explode(message: str) -> None:
    """Fails unexpectedly, so a test can see how the traceback is logged."""
    raise RuntimeError(message)


def steps(self, count: int, delay: float) -> dict:
    """Works through ``count`` steps, checkpointing after each; resumes after the last checkpoint."""
    start = int(self.request.checkpoint) + 1 if self.request.checkpoint else 0
    for step in range(start, count):
        time.sleep(delay)
        self.task.app.store.put(f"executions/steps/{self.request.id}/{step:04d}-{self.request.worker_id}", b"")
        self.update_state(meta={"progress": 100 * (step + 1) / count, "stage": "stepping", "step": step})
        self.save_checkpoint(str(step), wait=False)
    return {"steps": count, "resumed_from": start}


def chatter(self, seconds: float) -> int:
    """Writes log lines as fast as it can from the task's own thread, looking between lines whether to stop: a signal
    that comes while a line is being written (the logger's lock held) must still stop the worker."""
    log, lines = structlog.get_logger("tests.chatter"), 0
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        log.info("tests.chatter", line=lines, padding="x" * 4000)
        lines += 1
        self.check()
    return lines
