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
import json
import sys

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


TEST_INPUT_FORM = 'The test input must be a JSON object {"input": {"action": ..., ...}}'


def test_input_problem(argv: list[str]) -> str | None:
    """What is wrong with ``--test_input`` (the SDK's local check) in words, or None: the SDK itself prints a
    traceback for input that is not JSON, or not an object with an ``input`` object."""
    given = next((arg.split("=", 1)[1] for arg in argv if arg.startswith("--test_input=")), None)
    if "--test_input" in argv[:-1]:
        given = argv[argv.index("--test_input") + 1]
    if given is None:
        return None
    try:
        job = json.loads(given)
    except ValueError as error:
        return f"{TEST_INPUT_FORM}; this is not JSON ({error.msg}, at character {error.pos})."
    if not isinstance(job, dict) or not isinstance(job.get("input"), dict):
        return f"{TEST_INPUT_FORM}; this is JSON of another shape."
    return None


if __name__ == "__main__":
    if problem := test_input_problem(sys.argv[1:]):
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    service.app.middleware.after_worker_boot(service.app)  # imports paid at the container's start, not by its first job
    runpod.serverless.start({"handler": handler, "concurrency_modifier": concurrency})
