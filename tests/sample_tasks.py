"""Tasks that worker subprocesses run in the tests (imported with ``-I tests.sample_tasks``)."""

from __future__ import annotations

import time
import uuid

from ergo_tasks import default_app as app


@app.task(name="tests.record_execution")
def record_execution(job_marker: str) -> str:
    """Leaves one object per execution, so the test can count executions per job."""
    app.store.put(f"executions/{job_marker}/{uuid.uuid4().hex}", b"")
    return job_marker


@app.task(name="tests.steps", bind=True, max_retries=3)
def steps(self, count: int, delay: float) -> dict:
    """Works through ``count`` steps, checkpointing after each; resumes after the last checkpoint."""
    start = int(self.request.checkpoint) + 1 if self.request.checkpoint else 0
    for step in range(start, count):
        time.sleep(delay)
        app.store.put(f"executions/steps/{self.request.id}/{step:04d}-{self.request.worker_id}", b"")
        self.update_state(meta={"progress": 100 * (step + 1) / count, "stage": "stepping", "step": step})
        self.save_checkpoint(str(step), wait=False)
    return {"steps": count, "resumed_from": start}
