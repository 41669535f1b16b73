"""Slack-compatible webhook notifications when an analysis finishes, as engine middleware."""

from __future__ import annotations

import json
import urllib.request

import structlog

from pipeline.result_model import RESULT_FORMAT, Summary, read_document

from ..app import TaskApp
from ..middleware import Middleware
from ..states import State
from ..status import JobStatus

log = structlog.get_logger(__name__)


def message(doc: JobStatus) -> dict:
    """``{"text": ...}``: what Slack (and most chat webhooks) accept."""
    if doc.state == State.SUCCESS:
        summary = _summary(doc.result)
        scores = f" RULA max {summary.rula.max}, REBA max {summary.reba.max}." if summary else ""
        text = f"Ergonomic analysis {doc.job_id} completed.{scores}"
    elif doc.state == State.FAILURE:
        text = f"Ergonomic analysis {doc.job_id} failed: {doc.error.message if doc.error else 'unknown error'}"
    else:
        text = f"Ergonomic analysis {doc.job_id} was cancelled."
    return {"text": text, "job_id": doc.job_id, "state": str(doc.state)}


def _summary(result: object) -> Summary | None:
    """The analysis's summary; None for a job whose result is no analysis result (a part of a long video's)."""
    if not isinstance(result, dict) or result.get("format") != RESULT_FORMAT:
        return None
    return read_document(result).summary


class WebhookNotifier(Middleware):
    """Posts :func:`message` to ``url`` once a job has succeeded or failed (a canceller knows already), and a line
    when a worker pool lost a process."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url, self.timeout = url, timeout

    def after_process(self, app: TaskApp, doc: JobStatus) -> None:
        if doc.state not in (State.SUCCESS, State.FAILURE):
            return
        self._post(message(doc))
        log.info("notify.sent", job_id=doc.job_id, state=str(doc.state))

    def on_worker_lost(self, app: TaskApp, worker: str, cause: str) -> None:
        self._post({"text": f"Worker process {worker} died ({cause}) and was replaced; its job, if any, is requeued "
                            "when its lease expires.", "worker": worker})
        log.info("notify.sent", worker=worker)

    def _post(self, body: dict) -> None:
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout):
            pass
