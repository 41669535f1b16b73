"""Handing a queued job to something that will run it.

A serverless worker may be stopped as soon as its request returns, so a
request never runs a job in a background thread.  ``start_processing`` only
enqueues, then dispatches:

``runpod``  submit an ``execute`` request for the job to the same RunPod
            endpoint (``RUNPOD_ENDPOINT_ID`` / ``RUNPOD_API_KEY``); that
            request claims the lease and runs the job to the end, and the
            endpoint's autoscaling spreads jobs over GPUs
``worker``  nothing: ``ergo worker`` processes (or ``ergo serve``'s in-process
            workers) poll the queue
``inline``  run the job in the calling request (tests only)
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Protocol

import structlog

from statestore.retry import Backoff, RetryPolicy

log = structlog.get_logger(__name__)


class DispatchError(Exception):
    code = "dispatch_failed"


class Dispatcher(Protocol):
    mode: str

    def dispatch(self, job_id: str) -> None:
        """Make sure something will run ``job_id``; raise DispatchError if that could not be arranged."""


class WorkerDispatch:
    mode = "worker"

    def dispatch(self, job_id: str) -> None:
        pass  # workers find it under queue/open/


class InlineDispatch:
    mode = "inline"

    def __init__(self, app):
        self.app = app

    def dispatch(self, job_id: str) -> None:
        self.app.run_until_ready(job_id, "inline-dispatch")


def _transient(error: BaseException) -> bool:
    if isinstance(error, urllib.error.HTTPError):
        return error.code == 429 or error.code >= 500
    return isinstance(error, (urllib.error.URLError, TimeoutError, ConnectionError))


class RunPodDispatch:
    """POST ``{base}/{endpoint_id}/run`` with ``{"input": {"action": "execute", "job_id": ...}}``."""

    mode = "runpod"

    def __init__(self, endpoint_id: str, api_key: str, base_url: str = "https://api.runpod.ai/v2", timeout: float = 15.0,
                 retry: RetryPolicy | None = None):
        if not endpoint_id or not api_key:
            raise DispatchError("runpod dispatch needs RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY.")
        self.url = f"{base_url.rstrip('/')}/{endpoint_id}/run"
        self.api_key, self.timeout = api_key, timeout
        self.retry = retry or RetryPolicy(attempts=3, backoff=Backoff(base=0.5, cap=4.0))

    def dispatch(self, job_id: str) -> None:
        body = json.dumps({"input": {"action": "execute", "job_id": job_id}}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"})

        def send() -> dict:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")

        try:
            answer = self.retry.call(send, _transient)
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
            reason = f"HTTP {error.code}" if isinstance(error, urllib.error.HTTPError) else type(error).__name__
            raise DispatchError(f"RunPod did not accept the job ({reason}); it stays queued and is dispatched again when polled.") from None
        log.info("dispatch.runpod", job_id=job_id, runpod_id=answer.get("id"))


def make_dispatcher(mode: str, app, *, endpoint_id: str | None = None, api_key: str | None = None,
                    base_url: str = "https://api.runpod.ai/v2") -> Dispatcher:
    if mode == "runpod":
        return RunPodDispatch(endpoint_id or "", api_key or "", base_url)
    if mode == "inline":
        return InlineDispatch(app)
    if mode == "worker":
        return WorkerDispatch()
    raise DispatchError(f"Unknown dispatch mode '{mode}' (runpod, worker or inline).")
