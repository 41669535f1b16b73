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
from ..status import JobStatus
from .errors import DispatchError, UpstreamUnavailable
from .runpod import RunPodClient
from .settings import ServiceSettings

log = structlog.get_logger(__name__)


class Dispatcher(Protocol):
    mode: str
    #: The worker that runs a job in this very process as it is dispatched (the inline executor), for which a new job
    #: is created claimed (:meth:`~ergo_tasks.queue.Queue.enqueue`'s ``claim_for``); None for executors elsewhere.
    runs_here: str | None

    def dispatch(self, job_id: str, created: JobStatus | None = None) -> str | None:
        """Make sure something will run ``job_id``; returns the executor's request id, if it has one.  ``created``:
        the job as this request created it, claimed by :attr:`runs_here`.

        Raises DispatchError if that could not be arranged (the job stays queued)."""

    def cancel(self, request_id: str) -> None:
        """Withdraw a request :meth:`dispatch` made; raises DispatchError if the executor did not answer."""


class WorkerDispatch:
    mode = "worker"
    runs_here: str | None = None

    def dispatch(self, job_id: str, created: JobStatus | None = None) -> str | None:
        return None  # workers find it under queue/open/

    def cancel(self, request_id: str) -> None:
        pass  # a worker sees the job revoked at its next checkpoint


class InlineDispatch(WorkerDispatch):
    mode = "inline"
    runs_here = "inline-dispatch"

    def __init__(self, app: TaskApp):
        self.app = app

    def dispatch(self, job_id: str, created: JobStatus | None = None) -> str | None:
        self.app.run_until_ready(job_id, self.runs_here, created)
        return None


class RunPodDispatch:
    """Sends ``{"action": "execute", "job_id": ...}`` to the endpoint's ``/run``, within the client's deadline."""

    mode = "runpod"
    runs_here: str | None = None

    def __init__(self, client: RunPodClient):
        self.client = client

    def dispatch(self, job_id: str, created: JobStatus | None = None) -> str | None:
        try:
            answer = self.client.run({"action": "execute", "job_id": job_id})
        except UpstreamUnavailable as error:
            raise DispatchError(str(error)) from None
        log.info("dispatch.runpod", job_id=job_id, runpod_id=answer.get("id"))
        return answer.get("id") if isinstance(answer.get("id"), str) else None

    def cancel(self, request_id: str) -> None:
        try:
            self.client.cancel(request_id)
        except UpstreamUnavailable as error:
            raise DispatchError(str(error)) from None


def make_dispatcher(settings: ServiceSettings, app: TaskApp) -> Dispatcher:
    if settings.dispatch_mode == "runpod":
        try:
            return RunPodDispatch(RunPodClient.from_settings(settings, timeout=settings.dispatch_timeout_s))
        except UpstreamUnavailable as error:
            raise DispatchError(f"runpod dispatch: {error}") from None
    if settings.dispatch_mode == "inline":
        return InlineDispatch(app)
    return WorkerDispatch()
