"""What a caller sees of a job: its status view, and the queue line and operator list counted in jobs.

:class:`JobViews` turns a status document into the answer of ``get_status`` (and of the actions that return a
job): public status words, progress, cost, and for a completed job its summary, how it was measured, the
posture pictures, a signed download link and the video the page plays.  No storage is written here; only links
are signed.

A job analysed in parts is one job to the people waiting behind it and to the operator: its parts are
separate documents in the queue, each with its own open marker, start and run time, so a count of open
markers sees one job ahead as three, and the job itself (which only splits and joins) seems to have run
for no time at all.  The functions at the end fold the parts back into their job.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipeline.result_model import RESULT_FORMAT, Picture, read_document
from pipeline.results import FILES, PICTURES
from pipeline.summary import shows_findings
from pipeline.time_range import TimeRange, asked_words
from pipeline.viewpoint import viewpoint_words

from ..analysis.records import record_of
from ..analysis.rescore import NO_OVERLAY, rescored_from
from ..analysis.retention import can_resume
from ..analysis.task import ANALYSIS_END, ANALYSIS_START
from ..app import TaskApp
from ..jobstore import OpenMarker
from ..states import CLAIMABLE_STATES, RUNNING_STATES, State
from ..status import JobStatus
from ..timeutil import isoformat, utcnow
from .settings import ServiceSettings

PUBLIC_STATUS = {State.PENDING: "queued", State.RETRY: "queued", State.STARTED: "processing", State.PROGRESS: "processing",
                 State.SUCCESS: "completed", State.FAILURE: "failed", State.REVOKED: "cancelled"}


class JobViews:
    """A job as its owner (or an operator) sees it; signs links with the service's expiry."""

    def __init__(self, app: TaskApp, settings: ServiceSettings):
        self.app, self.store, self.settings = app, app.store, settings

    def status(self, doc: JobStatus) -> dict:
        """One job's status as its owner sees it: :meth:`job`, and for a job analysed in parts, how they stand."""
        view = self.job(doc)
        parts = self.app.queue.statuses(doc.waiting_for)
        if parts:
            view.update(_parts_view(doc, parts, self.settings.gpu_price_per_second))
        return view

    def job(self, doc: JobStatus, with_urls: bool = True) -> dict:
        """The job's own fields; with its results once it succeeded (``with_urls``: with signed links, which the
        operator's list leaves out)."""
        view = self._fields(doc)
        if doc.state == State.SUCCESS:
            view.update(self._results(doc, with_urls))
        return view

    def download_url(self, doc: JobStatus, artifact: str) -> str:
        """A signed link that saves the file as ``<video stem>-<job id prefix>-<file>``: line_3-01m8jf3x-report.xlsx."""
        key = doc.result_keys[artifact]
        stem = (doc.request.kwargs.get("video_key") or "ergo").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        filename = f"{stem}-{doc.job_id[:8].lower()}-{key.rsplit('/', 1)[-1]}"
        return self.store.presign_get(key, self.settings.download_url_expiry_s, filename)

    def _fields(self, doc: JobStatus) -> dict:
        meta, quiet = doc.meta, (utcnow() - doc.updated_at).total_seconds()
        # a running job writes at least every heartbeat; three missed in a row, or a lapsed lease, is a stall
        stalled = doc.state in RUNNING_STATES and (quiet > 3 * self.app.settings.heartbeat_seconds
                                                   or (doc.lease is not None and doc.lease.expired()))
        key = doc.request.kwargs.get("video_key") or ""
        price = self.settings.gpu_price_per_second
        return {
            "job_id": doc.job_id, "status": PUBLIC_STATUS[doc.state], "state": str(doc.state),
            "progress": round(doc.progress, 1), "stage": doc.stage,
            "frames_done": meta.get("frames_done"), "frames_total": meta.get("frames_total"), "eta_s": meta.get("eta_s"),
            "attempts": doc.attempts, "max_retries": doc.max_retries,
            "error": doc.error.message if doc.error else None, "error_type": doc.error.type if doc.error else None,
            "created_at": isoformat(doc.created_at), "updated_at": isoformat(doc.updated_at),
            "started_at": isoformat(doc.started_at) if doc.started_at else None,
            "finished_at": isoformat(doc.finished_at) if doc.finished_at else None,
            "quality": doc.request.kwargs.get("quality"), "video_key": key or None, "filename": video_name(doc),
            "run_seconds": round(doc.run_seconds, 1), "stalled": stalled, "quiet_s": round(quiet),
            # what resuming can change: not an expected failure (a file that is not a video fails the same way again)
            "resumable": can_resume(doc),
            "artifacts": sorted(name for name in doc.result_keys if name in FILES),
            "dispatch": {key: value for key, value in (doc.annotations.get("dispatch") or {}).items() if key != "by"} or None,
            "record": record_of(doc).model_dump(),  # station, task, department, assessor, notes ("" when unset)
            "asked_range": asked_range(doc),
            "cost": {"gpu_seconds": round(doc.run_seconds, 1), "price_per_second": price,
                     "estimated_usd": round(doc.run_seconds * price, 5)},
            **rescore_fields(doc),
        }

    def _results(self, doc: JobStatus, with_urls: bool) -> dict:
        """A completed job's summary, how its scores were made (which model, which inputs were measured and which
        assumed), its posture pictures and, with ``with_urls``, the link to its result file."""
        view = {"summary": None, "warning": None, "model": {"name": None, "weights": None}, "inputs": None, "pictures": [],
                "time_range": None, "viewpoint": None}
        scored = True  # a part's result, or one from before verdicts: as a job with scores
        if isinstance(doc.result, dict) and doc.result.get("format") == RESULT_FORMAT:  # a part's result is not one
            result = read_document(doc.result)
            warnings = [result.model.warning, *result.summary.warnings]
            view.update(summary=doc.result["summary"], warning=" ".join(warning for warning in warnings if warning) or None,
                        model={"name": result.model.name, "weights": result.model.weights}, inputs=doc.result["inputs"],
                        pictures=self._pictures(doc, result.pictures, with_urls))
            # the part of the video analysed, in the words the report uses (None: all of it)
            view["time_range"] = None if result.time_range is None else {**result.time_range.model_dump(), "words": result.analysed_span()}
            view["viewpoint"] = viewpoint_words(result.inputs.viewpoint)  # from where it was filmed, the report's words
            scored = shows_findings(result.summary)
        if with_urls and "pkl" in doc.result_keys:
            # the bucket's lifecycle rules may have removed the files while the status document stayed
            view["results_expired"] = not self.store.exists(doc.result_keys["pkl"])
            view["download_url"] = None if view["results_expired"] else self.download_url(doc, "pkl")
        if with_urls:
            view["video"] = self._video(doc, scored)
        return view

    def _video(self, doc: JobStatus, scored: bool) -> dict | None:
        """What the page plays beside its charts: the annotated video where the job wrote one, else the uploaded
        video with the link to skeleton.json, which the page draws over it; None once neither is kept.  A job that
        is not assessable (``scored`` False) shows the uploaded video only, so that the assessor sees why: its
        annotated video would show scores it must not.  Only the job's owner and an operator see a job's status,
        and so these links (with the downloads' expiry)."""
        expiry, skeleton = self.settings.download_url_expiry_s, doc.result_keys.get("skeleton")
        overlay = doc.result_keys.get("mp4") if scored else None
        for source, key in (("overlay", overlay), ("original", doc.request.kwargs.get("video_key"))):
            if key and self.store.exists(key):
                return {"source": source, "url": self.store.presign_get(key, expiry),
                        "skeleton_url": self.store.presign_get(skeleton, expiry) if source == "original" and skeleton else None}
        return None

    def _pictures(self, doc: JobStatus, pictures: list[Picture], with_urls: bool) -> list[dict]:
        expiry = self.settings.download_url_expiry_s
        return [{**picture.model_dump(include={"time_s", "frame_index", "reasons", "face_blurred"}),
                 "url": self.store.presign_get(doc.result_keys[key], expiry) if with_urls else None}
                for picture in pictures if (key := f"{PICTURES}/{picture.file}") in doc.result_keys]


def rescore_fields(doc: JobStatus) -> dict:
    """A job's links to its re-scores and, for a re-score, to its original (and what it did not make again); the task
    details it was given, to start a re-score from (:mod:`.rescoring`)."""
    kwargs = doc.request.kwargs
    source = rescored_from(doc)
    view: dict = {"rescored_from": source, "rescores": list(doc.annotations.get("rescores") or []),
                  "task_params": kwargs.get("params") or {}}
    if source:
        view["rescore"] = {"note": NO_OVERLAY.format(job_id=source)}  # the part of the video it covers: time_range
    return view


def asked_range(doc: JobStatus) -> dict | None:
    """The part of the video the job was asked to analyse, in words for its progress and the operator's list (None:
    the whole video); once it completed, ``time_range`` says the part analysed, measured against the video."""
    kwargs = doc.request.kwargs
    span = TimeRange.checked(kwargs.get("start_s"), kwargs.get("end_s"))  # checked when the job was asked for
    return None if span is None else {"start_s": span.start_s, "end_s": span.end_s, "words": asked_words(span)}


def video_name(doc: JobStatus) -> str | None:
    """The video's file name as its uploader knows it (the upload key's last part), None without a video."""
    return (doc.request.kwargs.get("video_key") or "").rsplit("/", 1)[-1] or None


def _parts_view(doc: JobStatus, parts: list[JobStatus], price_per_second: float) -> dict:
    """How a job analysed in parts stands, from its parts: while it waits for them it is processing, with their
    progress together; its cost counts theirs."""
    gpu_seconds = doc.run_seconds + sum(part.run_seconds for part in parts)
    view: dict = {"parts": {"total": len(parts), "done": sum(part.state == State.SUCCESS for part in parts),
                            "running": sum(part.state in RUNNING_STATES for part in parts)},
                  "cost": {"gpu_seconds": round(gpu_seconds, 1), "price_per_second": price_per_second,
                           "estimated_usd": round(gpu_seconds * price_per_second, 5)}}
    if doc.state in CLAIMABLE_STATES:
        counted = [part for part in parts if part.meta.get("frames_total")]
        share = sum(part.progress for part in parts) / len(parts)  # each part runs 0-100 itself
        view.update(status="processing", progress=round(ANALYSIS_START + share * (ANALYSIS_END - ANALYSIS_START) / 100, 1),
                    stage=f"analysing poses in {len(parts)} parts ({view['parts']['done']} done, {view['parts']['running']} running)",
                    frames_done=sum(part.meta.get("frames_done") or 0 for part in counted) if counted else None,
                    frames_total=sum(part.meta["frames_total"] for part in counted) if len(counted) == len(parts) else None,
                    eta_s=max((part.meta.get("eta_s") or 0 for part in parts if part.state in RUNNING_STATES), default=None))
    return view


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
