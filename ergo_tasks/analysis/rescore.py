"""The re-score job: a finished analysis scored again with other task details, or over a time range, as a job of
its own, without the pose model (:mod:`pipeline.rescore`).

It reads the original's ``result.pkl`` (the worker's poses), scores them again and writes a full set of result
files under ``results/<its own id>/``: the original's files are only read.  The posture pictures are drawn again
for the new worst moments from the original's video where storage still holds it; where it does not, the result
says so; the faces its original found in the frames it pictured are not searched for again
(:mod:`pipeline.face_memory`).  The annotated video is not made again (its skeleton would be the same; the job's
view says where it is).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from pipeline.errors import PipelineError
from statestore import ObjectNotFound, StorageUnavailable

from ..app import TaskApp
from ..errors import JobNotFound, TaskError
from ..status import JobStatus
from .job_files import face_detector, faces_key, write_job_files
from .keys import UPLOADS
from .scratch import scratch_folder
from .settings import AnalysisSettings
from .task import MAX_RETRIES

if TYPE_CHECKING:
    from pipeline.result_model import AnalysisResult

    from ..execution import TaskContext

log = structlog.get_logger(__name__)

#: The task's registered name (what status documents record).
RESCORE_TASK = "ergo.rescore"
#: What a re-scored result says where its video is gone (the pictures cannot be drawn again).
NO_VIDEO = ("The video is no longer stored, so the posture pictures were not drawn again for this re-score; "
            "the scores, the report and the workbook are complete.")
#: What the job's view says of the annotated video (it is not made again).
NO_OVERLAY = "Re-scoring does not make the annotated video again: the skeleton is the same; download it from job {job_id}."
#: What a re-score says of an original whose result files are gone.
EXPIRED = "The result files of job {job_id} have expired and were deleted, so it cannot be re-scored; analyse the video again."


def rescore_task(self: TaskContext, source_job_id: str, video_key: str | None = None, quality: str | None = None,
                 params: dict | None = None, start_s: float | None = None, end_s: float | None = None, blur_faces: bool = True,
                 *, settings: AnalysisSettings) -> dict[str, Any]:
    """Score job ``source_job_id``'s poses again with ``params`` (its own task details when None), over
    ``start_s`` <= time < ``end_s`` when given; returns the new summary and records the new files' keys.
    ``video_key`` and ``quality`` are the original's (kept for the job's view and its file names)."""
    from pipeline.assessment import AssessmentParams
    from pipeline.rescore import rescore

    original, given = _original(self, source_job_id)
    details = params if params is not None else given
    with scratch_folder() as scratch, ThreadPoolExecutor(max_workers=1, thread_name_prefix="video") as fetching:
        # the video the pictures are drawn from comes down while the poses are scored (from R2, seconds for a long one)
        download = fetching.submit(_video, self, video_key, scratch)
        # no progress is reported: it would be a write of the job's status, and the last write waits a write interval
        # (ERGO_STATUS_WRITE_INTERVAL) after it, longer than the re-score's few seconds of work take
        result = rescore(original, AssessmentParams(**(details or {})), start_s=start_s, end_s=end_s, job_id=self.request.id)
        self.check()  # cancelled meanwhile: no files
        video = download.result()
        if video is None:
            result.summary.warnings = [*result.summary.warnings, NO_VIDEO]
        faces = face_detector(settings) if blur_faces and video is not None else None
        write_job_files(self, result, video, scratch, blur_faces, faces, overlay=False,
                        known_faces=_read_if_kept(self, faces_key(source_job_id)) if faces is not None else None)
    return result.document()


def _original(context: TaskContext, job_id: str) -> tuple[AnalysisResult, dict | None]:
    """The original's result, read from its ``result.pkl``, and the task details it was given (a re-score of a
    re-score: those it was re-scored with); a clear refusal where the result is gone."""
    from pipeline.results import load_result

    app = context.task.app
    try:
        doc = app.jobs.read(job_id).doc
        result = load_result(app.store.get(doc.result_keys["pkl"]).body)
    except (JobNotFound, KeyError, ObjectNotFound):
        raise TaskError(EXPIRED.format(job_id=job_id)) from None
    return result, doc.request.kwargs.get("params")


def _read_if_kept(context: TaskContext, key: str) -> bytes | None:
    """An object's bytes, or None where there is none (a job from before the faces were kept: searched again)."""
    try:
        return context.task.app.store.get(key).body
    except ObjectNotFound:
        return None


def _video(context: TaskContext, video_key: str | None, scratch: Path) -> Path | None:
    """The original's video, downloaded for the pictures; None where storage no longer holds it."""
    if not isinstance(video_key, str) or not video_key.startswith(UPLOADS):
        return None
    path = scratch / ("video" + (Path(video_key).suffix or ".mp4"))
    try:
        context.task.app.store.download_file(video_key, path)
    except ObjectNotFound:
        log.info("rescore.video_gone", video_key=video_key)
        return None
    return path


def rescored_from(doc: JobStatus) -> str | None:
    """The job whose poses this one scored again, if it is a re-score: it names its original in its request."""
    return doc.request.kwargs.get("source_job_id") if doc.task == RESCORE_TASK else None


def register_rescore(app: TaskApp, settings: AnalysisSettings) -> None:
    """Register the re-score task on ``app``, with ``settings`` bound."""

    def rescore(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return rescore_task(self, *args, settings=settings, **kwargs)

    app.task(name=RESCORE_TASK, bind=True, max_retries=MAX_RETRIES, throws=(PipelineError,),
             autoretry_for=(StorageUnavailable,), retry_backoff=5.0, retry_backoff_max=120.0)(rescore)
