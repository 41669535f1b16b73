"""The caller's own analyses (``list_my_jobs``): one row per job, newest first, filtered by task record and words.

An assessor comes back to their work: which videos they analysed, of which station and task, whether each could be
assessed and how high it scored.  A row is made from the job's status document alone (its request, its annotations
and the result document the status holds), so a page of the list reads no result file from storage.  The operator's
list (``list_jobs``) stays the operator's: this one shows a caller nothing but their own jobs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import structlog

from pipeline.ergonomics import level_labels, reba_risk_level, rula_action_level
from pipeline.errors import MalformedResult
from pipeline.result_model import RESULT_FORMAT, MethodSummary, Summary, read_document
from pipeline.summary import shows_findings

from ..analysis.keys import OPERATOR
from ..analysis.records import record_of
from ..analysis.rescore import rescored_from
from ..states import CLAIMABLE_STATES, State
from ..status import JobStatus
from ..timeutil import isoformat
from .requests import MyJobsRequest
from .views import PUBLIC_STATUS, video_name

log = structlog.get_logger(__name__)

#: Each method's level of a score (the levels themselves are pipeline/ergonomics.py's RISK_LEVELS).
LEVEL_OF = {"rula": rula_action_level, "reba": reba_risk_level}


def headline(block: MethodSummary, method: str) -> dict | None:
    """A method's highest score over the video, with its level and the level's words; None if no frame was scored."""
    if block.max is None:
        return None
    level = int(LEVEL_OF[method](block.max))
    return {"max": block.max, "level": level, "label": level_labels(method)[level]}


def history_row(doc: JobStatus) -> dict:
    """What the list shows of one job; a job that cannot be assessed shows no score (as its results do not)."""
    summary = _summary(doc)
    scored = summary is not None and shows_findings(summary)
    return {"job_id": doc.job_id, "filename": video_name(doc), "created_at": isoformat(doc.created_at),
            "status": _status(doc), "record": record_of(doc).model_dump(),
            # a job analysed in parts holds no progress of its own (get_status adds its parts'): none rather than a wrong one
            "progress": None if doc.waiting_for else round(doc.progress, 1),
            "verdict": summary.verdict.status if summary else None,
            "rula": headline(summary.rula, "rula") if scored else None,
            "reba": headline(summary.reba, "reba") if scored else None,
            "rescored_from": rescored_from(doc)}


def matches(row: dict, request: MyJobsRequest) -> bool:
    """Whether a row passes the filters: station and task exactly (in any case), the text anywhere in the video's
    name or the task record."""
    record = row["record"]
    for name in ("station", "task"):
        wanted = getattr(request, name)
        if wanted and record[name].casefold() != wanted.casefold():
            return False
    if not request.text:
        return True
    return any(request.text.casefold() in value.casefold() for value in (row["filename"] or "", *record.values()))


def own_jobs(docs: Iterable[JobStatus], owner: str, request: MyJobsRequest) -> dict:
    """A page of ``owner``'s jobs from ``docs`` (newest first), filtered; ``next_cursor`` continues after its last."""
    rows: Iterator[dict] = (history_row(doc) for doc in docs if (doc.owner or OPERATOR) == owner)  # no owner: the console's
    page = list(itertools.islice((row for row in rows if matches(row, request)), request.limit + 1))
    more = len(page) > request.limit
    jobs = page[:request.limit]
    return {"jobs": jobs, "next_cursor": jobs[-1]["job_id"] if more else None}


def _status(doc: JobStatus) -> str:
    """The job's status in words; one waiting for its parts is being processed (as get_status says)."""
    return "processing" if doc.waiting_for and doc.state in CLAIMABLE_STATES else PUBLIC_STATUS[doc.state]


def _summary(doc: JobStatus) -> Summary | None:
    """A completed job's summary, from the result document its status holds (a part's result is not one)."""
    if doc.state != State.SUCCESS or not isinstance(doc.result, dict) or doc.result.get("format") != RESULT_FORMAT:
        return None
    try:
        return read_document(doc.result).summary
    except MalformedResult as error:
        log.warning("history.malformed_result", job_id=doc.job_id, error=str(error))
        return None
