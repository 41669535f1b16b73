"""``rescore_job``: a finished job's poses scored again, as a new job linked to the original.

The original is never changed but for one thing: the list of its re-scores, kept in its status document
(``annotations["rescores"]``), added with compare-and-swap once the new job exists.  Stored, not derived: deriving
it would mean reading every job's status on every status read of the original (storage has no index), while the
link is written once, and a retried request (the same job, by its idempotency key) writes it again if it was lost.
The new job names its original in its own request (``source_job_id``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.time_range import RangeOutsideVideo
from pipeline.time_range import TimeRange as Span

from ..analysis.records import record_annotations, record_of
from ..analysis.rescore import EXPIRED, RESCORE_TASK
from ..analysis.task import MAX_RETRIES
from ..states import State
from ..status import JobStatus
from .errors import ServiceError
from .requests import Caller, RescoreRequest
from .views import PUBLIC_STATUS

if TYPE_CHECKING:
    from ..app import TaskApp

#: Where an original lists its re-scores.
RESCORES = "rescores"


class RescoreActions:
    """The re-score action of :class:`~.actions.JobService` (its store, jobs, dispatch and ownership check)."""

    app: TaskApp

    def rescore_job(self, request: RescoreRequest, caller: Caller) -> dict:
        original = self._own_job(request.job_id, caller)  # type: ignore[attr-defined]
        _check_rescorable(original, request, self.app.store.exists)
        kwargs: dict[str, Any] = {"source_job_id": original.job_id, "video_key": original.request.kwargs.get("video_key"),
                                  "quality": original.request.kwargs.get("quality")}
        optional = {"params": None if request.params is None else request.params.model_dump(exclude_defaults=True),
                    "blur_faces": False if original.request.kwargs.get("blur_faces") is False else None}
        kwargs.update({name: value for name, value in optional.items() if value is not None}, **request.range_kwargs())
        # the new job carries the original's task record (its files show it; editing it later is the new job's own)
        answer = self._enqueue(RESCORE_TASK, kwargs, MAX_RETRIES, caller, request.idempotency_key,  # type: ignore[attr-defined]
                               record_annotations(record_of(original)))
        self.app.jobs.update(original.job_id, lambda doc: linked(doc, answer["job_id"]))
        return {**answer, "rescored_from": original.job_id}


def _check_rescorable(doc: JobStatus, request: RescoreRequest, exists) -> None:
    """Refuse, in words, a job that has no result to re-score yet or any more, or a range outside its video."""
    if doc.state != State.SUCCESS:
        raise ServiceError(f"Job {doc.job_id} cannot be re-scored: it is {PUBLIC_STATUS[doc.state]}, and only a completed "
                           "job has poses to score again.", code="not_ready")
    if "pkl" not in doc.result_keys:
        raise ServiceError(f"Job {doc.job_id} is not an analysis with a result to re-score.", code="job_not_found")
    if not exists(doc.result_keys["pkl"]):
        raise ServiceError(EXPIRED.format(job_id=doc.job_id), code="results_expired")
    duration = ((doc.result or {}).get("video") or {}).get("duration")
    span = Span.checked(request.start_s, request.end_s)  # checked by the request already: a range, or None
    if span is not None and duration is not None:
        try:
            span.fitted(duration)
        except RangeOutsideVideo as error:
            raise ServiceError(str(error)) from None


def linked(doc: JobStatus, rescore_id: str) -> JobStatus | None:
    """The original with ``rescore_id`` added to its re-scores (None: listed already).  Only the annotation changes
    (and the document's write time, as every write stamps it): not its state, result, files or history."""
    listed = list(doc.annotations.get(RESCORES) or [])
    if rescore_id in listed:
        return None
    return doc.updated(annotations={**doc.annotations, RESCORES: [*listed, rescore_id]})
