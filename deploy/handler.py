"""RunPod serverless entry point.

Thin on purpose: the API lives in ``ergo_tasks.service.actions``.  The process
starts like every ergo process (``ergo_tasks.bootstrap``: logging, then the
analysis task).  Every request is ``{"input": {"action": ..., ...}}``; RunPod
wraps the answer in ``output``.  A running ``execute`` reports its progress to
RunPod (``progress_update``), which shows it in the console and in ``/status``.

The handler is a coroutine that runs the action in a thread, so an endpoint
that serves the light actions (a CPU endpoint in the page-talks-to-RunPod
shape, see docs/deployment.md) can take ``ERGO_HANDLER_CONCURRENCY`` requests
at once; a GPU endpoint keeps the default of 1.
Local check:  python deploy/handler.py --test_input '{"input": {"action": "health"}}'
"""

import asyncio

import runpod

from ergo_tasks import bootstrap
from ergo_tasks.analysis import TASK_MODULES
from ergo_tasks.service.actions import build_service

service = build_service(bootstrap.start(TASK_MODULES))


async def handler(job: dict) -> dict:
    def report(progress: dict) -> None:
        runpod.serverless.progress_update(job, progress)

    return await asyncio.to_thread(service.handle_event, job, report)


def concurrency(_current: int) -> int:
    return service.settings.handler_concurrency


if __name__ == "__main__":
    service.app.middleware.after_worker_boot(service.app)  # imports paid at the container's start, not by its first job
    runpod.serverless.start({"handler": handler, "concurrency_modifier": concurrency})
