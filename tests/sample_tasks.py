"""Tasks that worker subprocesses run in the tests (registered with ``-I tests.sample_tasks``)."""

from __future__ import annotations

import time
import uuid

from ergo_tasks import TaskApp


def register(app: TaskApp) -> None:
    app.task(name="tests.record_execution")(lambda job_marker: record_execution(app, job_marker))
    app.task(name="tests.steps", bind=True, max_retries=3)(steps)
    app.task(name="tests.explode")(explode)


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
