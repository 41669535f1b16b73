"""RunPod serverless entry point.

Thin on purpose: the API lives in ``ergo_tasks.api``.  Every request is
``{"input": {"action": ..., ...}}``; RunPod wraps the answer in ``output``.
Local check:  python deploy/handler.py --test_input '{"input": {"action": "health"}}'
"""

import runpod

from ergo_tasks.api import build_service

service = build_service()


def handler(job: dict) -> dict:
    return service.handle_event(job)


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
