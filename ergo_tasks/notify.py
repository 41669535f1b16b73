"""Slack-compatible webhook notifications when a job finishes."""

from __future__ import annotations

import json
import urllib.request

import structlog

from .models import JobStatus
from .states import State

log = structlog.get_logger(__name__)


def message(doc: JobStatus) -> dict:
    """``{"text": ...}``: what Slack (and most chat webhooks) accept."""
    if doc.state == State.SUCCESS:
        summary = (doc.result or {}).get("summary", {}) if isinstance(doc.result, dict) else {}
        rula, reba = summary.get("rula", {}), summary.get("reba", {})
        scores = f" RULA max {rula.get('max')}, REBA max {reba.get('max')}." if rula else ""
        text = f"Ergonomic analysis {doc.job_id} completed.{scores}"
    elif doc.state == State.FAILURE:
        text = f"Ergonomic analysis {doc.job_id} failed: {doc.error.message if doc.error else 'unknown error'}"
    else:
        text = f"Ergonomic analysis {doc.job_id} was cancelled."
    return {"text": text, "job_id": doc.job_id, "state": str(doc.state)}


def webhook_notifier(url: str, timeout: float = 5.0):
    """An ``on_finish`` hook posting :func:`message` to ``url``."""

    def notify(doc: JobStatus) -> None:
        if doc.state == State.REVOKED:
            return  # the person who cancelled it knows
        request = urllib.request.Request(url, data=json.dumps(message(doc)).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout):
            pass
        log.info("notify.sent", job_id=doc.job_id, state=str(doc.state))

    notify.__name__ = "webhook_notifier"
    return notify
