"""RunPod serverless entry point.

Thin on purpose: the API lives in ``ergo_tasks.service.actions``.  The process
starts like every ergo process (``ergo_tasks.bootstrap``: logging, then the
analysis task).  Every request is ``{"input": {"action": ..., ...}}``; RunPod
wraps the answer in ``output``.
Local check:  python deploy/handler.py --test_input '{"input": {"action": "health"}}'
"""

import runpod

from ergo_tasks import bootstrap
from ergo_tasks.analysis import TASK_MODULES
from ergo_tasks.service.actions import build_service

service = build_service(bootstrap.start(TASK_MODULES))


def handler(job: dict) -> dict:
    return service.handle_event(job)


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
