"""Handing a queued job to something that will run it (an *executor*).

A serverless worker may be stopped as soon as its request returns, so a
request never runs a job in a background thread.  ``start_processing`` only
enqueues, then dispatches:

``runpod``  submit an ``execute`` request for the job to the RunPod endpoint;
            that request claims the lease and runs the job to the end, and
            the endpoint's autoscaling spreads jobs over GPUs
``worker``  nothing: ``ergo worker`` processes (or ``ergo serve``'s in-process
            workers) poll the queue
``inline``  run the job in the calling request (tests only)
"""

from __future__ import annotations

from typing import Protocol

import structlog

from ..app import TaskApp
from .errors import DispatchError, UpstreamUnavailable
from .runpod import RunPodClient
from .settings import ServiceSettings

log = structlog.get_logger(__name__)


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

    def __init__(self, app: TaskApp):
        self.app = app

    def dispatch(self, job_id: str) -> None:
        self.app.run_until_ready(job_id, "inline-dispatch")


class RunPodDispatch:
    """Sends ``{"action": "execute", "job_id": ...}`` to the endpoint's ``/run``."""

    mode = "runpod"

    def __init__(self, client: RunPodClient):
        self.client = client

    def dispatch(self, job_id: str) -> None:
        try:
            answer = self.client.run({"action": "execute", "job_id": job_id})
        except UpstreamUnavailable as error:
            raise DispatchError(f"{error} The job stays queued and is dispatched again when polled.") from None
        log.info("dispatch.runpod", job_id=job_id, runpod_id=answer.get("id"))


def make_dispatcher(settings: ServiceSettings, app: TaskApp) -> Dispatcher:
    if settings.dispatch_mode == "runpod":
        try:
            return RunPodDispatch(RunPodClient.from_settings(settings))
        except UpstreamUnavailable as error:
            raise DispatchError(f"runpod dispatch: {error}") from None
    if settings.dispatch_mode == "inline":
        return InlineDispatch(app)
    return WorkerDispatch()
