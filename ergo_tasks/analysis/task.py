"""The analysis job: a task that wires the pipeline to object storage.

Reads ``uploads/...``, keeps finished chunks under ``checkpoints/<job_id>/``
(so a requeued or resumed job continues where it stopped), writes the result
files, the PDF report, the posture pictures (``frames/``) and, when asked, the
annotated video under ``results/<job_id>/`` and records their keys (:mod:`.job_files`).  The workbook and the report
show the job's task record as its status document holds it then (see :mod:`.records`).
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import ValidationError

from pipeline.errors import PipelineError
from pipeline.presets import DEFAULT_PRESET
from statestore import ObjectInfo, ObjectNotFound, ObjectStore, StorageUnavailable

from ..app import TaskApp
from ..errors import TaskError, validation_message
from ..middleware import Middleware
from .job_files import face_detector, write_job_files
from .keys import UPLOADS, checkpoint_prefix
from .scratch import scratch_folder
from .settings import DEFAULT_CHUNK_SIZE, AnalysisSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..execution import TaskContext

log = structlog.get_logger(__name__)

#: The task's registered name (what status documents record).
ANALYZE_TASK = "ergo.analyze_video"
#: Attempts after the first one, for jobs of this task.
MAX_RETRIES = 2


class StorageCheckpoints:
    """Chunk checkpoints under ``checkpoints/<job_id>/``, guarded by a settings fingerprint.

    The job's own run owns the folder: checkpoints made with other settings are discarded.  A part of the
    job (``part=True``) writes into its job's folder alongside the other parts, and only checks the
    fingerprint its job recorded: a part on a worker with other pose settings refuses to run rather than
    mix its chunks with theirs.
    """

    def __init__(self, store: ObjectStore, job_id: str, on_saved=None, *, part: bool = False):
        self.store, self.prefix, self.on_saved, self.part = store, checkpoint_prefix(job_id), on_saved, part

    def _key(self, index: int) -> str:
        return f"{self.prefix}chunk-{index:06d}.npz"

    def prepare(self, fingerprint: str) -> bool:
        """Make the folder the one of these settings; whether it already was (else what it held is discarded)."""
        manifest = f"{self.prefix}manifest.json"
        try:
            saved = json.loads(self.store.get(manifest).body).get("fingerprint")
        except (ObjectNotFound, ValueError):
            saved = None
        if saved == fingerprint:
            return True
        if self.part:
            raise TaskError("This worker's pose settings (model, device, batch size or precision) differ from those of the "
                            "worker that started the job, so its part of the video was not analysed here.")
        if saved is not None:
            log.warning("checkpoints.discarded", reason="settings changed")
        self.store.delete_prefix(self.prefix)
        self.store.put(manifest, json.dumps({"fingerprint": fingerprint}).encode(), content_type="application/json")
        return False

    def load(self, fingerprint: str, only: range | None = None):
        from pipeline.analysis import ChunkResult

        if not self.prepare(fingerprint):
            return {}
        chunks = {}
        for info in self.store.list(f"{self.prefix}chunk-"):
            if only is not None and _chunk_index(info.key) not in only:
                continue  # another part's
            try:
                chunk = ChunkResult.from_bytes(self.store.get(info.key).body)
            except (ValueError, EOFError, OSError, KeyError, zipfile.BadZipFile) as error:
                # a damaged checkpoint costs its chunk a second computation, never the job
                log.warning("checkpoints.unreadable", key=info.key, error=type(error).__name__)
                continue
            except ObjectNotFound:
                continue  # removed since the listing (a finished attempt cleaning up)
            chunks[chunk.index] = chunk
        return chunks

    def save(self, chunk) -> None:
        key = self._key(chunk.index)
        self.store.put(key, chunk.to_bytes(), content_type="application/octet-stream")
        if self.on_saved:
            self.on_saved(key)


def _chunk_index(key: str) -> int:
    """``checkpoints/<job>/chunk-000012.npz`` -> 12 (-1 for a name that is not a chunk's)."""
    digits = key.rsplit("chunk-", 1)[-1].split(".", 1)[0]
    return int(digits) if digits.isdigit() else -1


def _options(quality: str, params: dict | None, chunk_size: int | None, part_chunks: int, span: tuple[float | None, float | None]):
    from pipeline.analysis import AnalysisOptions
    from pipeline.assessment import AssessmentParams
    from pipeline.presets import get_preset
    from pipeline.time_range import TimeRange

    try:
        preset = get_preset(quality)
        assessment = AssessmentParams(**(params or {}))
        time_range = TimeRange.checked(*span)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        message = validation_message(error.errors()) if isinstance(error, ValidationError) else str(error)
        raise TaskError(f"Invalid analysis settings: {message}") from None
    return AnalysisOptions(preset=preset, params=assessment, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE, part_chunks=part_chunks,
                           time_range=time_range)


#: Where the analysis's own progress sits in the job's 0-100 (the job's progress never goes back).
ANALYSIS_START, ANALYSIS_END = 2.0, 97.0


def _check_upload(info: ObjectInfo, pinned_etag: str | None, max_bytes: int) -> None:
    """Refuse a video that is not the one the job was started on, or that is over the size limit."""
    if pinned_etag is not None and info.etag != pinned_etag:
        raise TaskError("The uploaded video was replaced after the job was started, so it was not analysed; "
                        "upload it again and start a new job.")
    if info.size > max_bytes:
        raise TaskError(f"The video ({info.size / 1024**3:.1f} GB) is larger than the {max_bytes / 1024**3:g} GB limit.")


def analyze_video_task(self: TaskContext, video_key: str, quality: str = DEFAULT_PRESET, model: str | None = None, weights: str | None = None,
                       params: dict | None = None, chunk_size: int | None = None, video_etag: str | None = None,
                       blur_faces: bool = True, overlay: bool | None = None, split: bool = True, part: list[int] | None = None,
                       start_s: float | None = None, end_s: float | None = None, *, settings: AnalysisSettings) -> dict[str, Any]:
    """Analyse ``video_key``; returns the summary and records the result files' keys.

    Pipeline errors are expected failures (the task ``throws`` them): their
    message, written for the person who submitted the video, is the job's error.
    ``video_etag`` pins the upload the job was started on: a replaced video is refused, not analysed.
    ``blur_faces`` blurs the faces in the posture pictures (these are pictures of employees); ``overlay`` writes
    the annotated video (unset: the preset's default).  ``start_s``/``end_s`` analyse only that part of the video
    (:mod:`pipeline.time_range`: an end past the video's end is clipped and said, a start past it refused).

    A long video (more than ``ERGO_PART_CHUNKS`` chunks) is analysed in parts, side by side: the job queues
    one job per part (``part``: its chunks, [start, stop)), waits for them without holding its worker, and
    then assembles the result from the chunks they checkpointed.  ``split=False`` analyses it all here.
    """
    from pipeline.analysis import Plan, analyze_video, fingerprint, parts
    from pipeline.pose import load_pose_model

    if not isinstance(video_key, str) or not video_key.startswith(UPLOADS):
        raise TaskError("The video key must name an uploaded video (uploads/...).")
    options = _options(quality, params, chunk_size, settings.part_chunks, (start_s, end_s))
    store, job_id = self.task.app.store, self.request.id
    with scratch_folder() as scratch:
        video = _download(self, video_key, video_etag, settings, scratch)
        self.update_state(meta={"progress": 1, "stage": "loading pose model"})
        pose_model = load_pose_model(settings.pose(model, weights))
        plan = Plan.of(video, options)
        if part is not None:
            return _analyse_part(self, video, pose_model, options, plan, range(*part))
        checkpoints = StorageCheckpoints(store, job_id, on_saved=lambda key: self.save_checkpoint(key, wait=False))
        pieces = parts(len(plan.chunks), options.part_chunks if split else 0)
        if len(pieces) > 1:
            checkpoints.prepare(fingerprint(plan.info, options, pose_model))  # the settings the parts must share
            self.update_state(meta={"progress": ANALYSIS_START, "stage": f"analysing poses in {len(pieces)} parts"})
            handed_out = [self.task.s(*self.request.args, **{**self.request.kwargs, "part": [piece.start, piece.stop]})
                          .set(idempotency_key=f"{job_id}/part/{number}", parent=job_id).apply_async()
                          for number, piece in enumerate(pieces)]
            self.wait_for(handed_out)  # this attempt ends here until every part has succeeded; then the chunks are all saved
        result = analyze_video(video, pose_model, options, checkpoints=checkpoints, on_progress=_progress(self),
                               on_chunk=lambda chunk: log.info("chunk.done", chunk=chunk.index), job_id=job_id,
                               video_name=video_key.rsplit("/", 1)[-1])
        self.update_state(meta={"progress": ANALYSIS_END, "stage": "writing results"})
        faces = face_detector(settings) if blur_faces else None
        write_job_files(self, result, video, scratch, blur_faces, faces, options.preset.overlay if overlay is None else overlay)
    return result.document()


def _download(context: TaskContext, video_key: str, video_etag: str | None, settings: AnalysisSettings, scratch: Path) -> Path:
    """The job's video, downloaded into ``scratch`` once checked (the one the job was started on, within the limit)."""
    store = context.task.app.store
    video = scratch / ("video" + (os.path.splitext(video_key)[1] or ".mp4"))
    context.update_state(meta={"progress": 0, "stage": "downloading video"})
    try:
        _check_upload(store.head(video_key), video_etag, settings.max_upload_bytes)
        store.download_file(video_key, video)
    except ObjectNotFound:
        raise TaskError(f"The uploaded video {video_key} no longer exists.") from None
    context.check()
    return video


def _progress(context: TaskContext) -> Callable[[Any], None]:
    """Reports the analysis's progress as the job's: the analysis is 2-97% of the job (downloading and loading
    come before it, writing results after)."""

    def report(p) -> None:
        context.update_state(meta={"progress": ANALYSIS_START + p.percent * (ANALYSIS_END - ANALYSIS_START) / 100, "stage": p.stage,
                                "frames_done": p.frames_done, "frames_total": p.frames_total,
                                "eta_s": None if p.eta_s is None else round(p.eta_s, 1)})

    return report


def _analyse_part(context: TaskContext, video: Path, pose_model, options, plan, chunks: range) -> dict[str, Any]:
    """One part of a long video: its chunks' poses, checkpointed in the folder of the job it is a part of."""
    from pipeline.analysis import analyze_chunks

    if context.request.parent is None:
        raise TaskError("A part of an analysis is queued by its analysis job, not on its own.")
    checkpoints = StorageCheckpoints(context.task.app.store, context.request.parent, part=True,
                                     on_saved=lambda key: context.save_checkpoint(key, wait=False))
    done = analyze_chunks(video, pose_model, options, plan, only=chunks, checkpoints=checkpoints, on_progress=_progress(context),
                          on_chunk=lambda chunk: log.info("chunk.done", chunk=chunk.index, part_of=context.request.parent))
    return {"part": [chunks.start, chunks.stop], "frames": sum(len(chunk.frame_indices) for chunk in done.values())}


class Preload(Middleware):
    """Imports Torch and the pipeline when a worker starts (a few seconds), not during its first job: a part of a
    long video would otherwise pay them on every fresh worker."""

    modules = ("torch", "pipeline.analysis", "pipeline.results", "pipeline.pose.blazepose", "decord", "av")

    def after_worker_boot(self, app: TaskApp) -> None:
        for module in self.modules:
            importlib.import_module(module)


def register_analysis(app: TaskApp, settings: AnalysisSettings) -> None:
    """Register the analysis task on ``app``, with ``settings`` bound."""

    def analyze(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return analyze_video_task(self, *args, settings=settings, **kwargs)

    # Storage trouble (the bucket unreachable for longer than the storage layer's own retries) ends the
    # attempt; the next one, after a backoff, continues from the last checkpoint.
    app.task(name=ANALYZE_TASK, bind=True, max_retries=MAX_RETRIES, throws=(PipelineError,),
             autoretry_for=(StorageUnavailable,), retry_backoff=5.0, retry_backoff_max=120.0)(analyze)
