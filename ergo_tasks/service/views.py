"""What the page's queue line and the operator list show, counted in jobs rather than in parts.

A job analysed in parts is one job to the people waiting behind it and to the operator: its parts are
separate documents in the queue, each with its own open marker, start and run time, so a count of open
markers sees one job ahead as three, and the job itself (which only splits and joins) seems to have run
for no time at all.  These functions fold the parts back into their job.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..jobstore import OpenMarker
from ..states import RUNNING_STATES
from ..status import JobStatus
from ..timeutil import isoformat, utcnow


@dataclass(frozen=True)
class QueueLine:
    """Jobs (not parts) waiting before a job, jobs running, and how long those running have left and take, where they say."""

    ahead: int
    running: int
    soonest_end_s: float | None
    run_s: float | None


def queue_line(markers: Iterable[OpenMarker], job_id: str, parent_of: Callable[[str], str | None],
               read: Callable[[str], JobStatus | None]) -> QueueLine:
    """Where ``job_id`` stands among the open jobs; ``parent_of`` says which job a part belongs to (None for a job).

    A job is running if it or any of its parts is held by a worker; a job waiting for its running parts is not
    "ahead" of anyone.  Ids sort by creation, so the jobs ahead are the waiting ones with smaller ids.
    """
    jobs: dict[str, bool] = {}  # job id -> running (itself or one of its parts)
    running_ids = []
    for marker in markers:
        owner = parent_of(marker.job_id) or marker.job_id
        jobs[owner] = jobs.get(owner, False) or marker.running
        if marker.running:
            running_ids.append(marker.job_id)
    ahead = sum(1 for owner, running in jobs.items() if not running and owner < job_id)
    ends, runs = [], []
    for doc in filter(None, map(read, running_ids[:10])):  # what the running ones say of themselves (a few reads)
        left = doc.meta.get("eta_s")
        if doc.state in RUNNING_STATES and left is not None:
            ends.append(float(left))
            runs.append(doc.run_seconds + float(left))
    return QueueLine(ahead, sum(jobs.values()), min(ends) if ends else None, statistics.median(runs) if runs else None)


def operator_fields(doc: JobStatus, parts: list[JobStatus]) -> dict:
    """What the operator list shows of a job beyond its own view, counting its parts where it was analysed in parts:
    when work started (its own start or its first part's), for how long it has been worked on since (to its end, to
    its requeue, or to now), its attempts (a job waiting for its parts gives its attempt back; its parts count) and
    how often an operator resumed it (each resume starts the attempts again from 0)."""
    starts = [job.started_at for job in (doc, *parts) if job.started_at]
    started = min(starts) if starts else None
    queued_again = doc.state not in RUNNING_STATES and not doc.waiting_for and doc.finished_at is None
    end = doc.finished_at or (doc.updated_at if queued_again else utcnow())
    return {"work_started_at": isoformat(started) if started else None,
            "work_seconds": round(max(0.0, (end - started).total_seconds()), 1) if started else None,
            "attempts": max([doc.attempts, *(part.attempts for part in parts)]),
            "resumes": sum(1 for step in doc.history if step.reason.startswith("resumed from")), "owner": doc.owner}
