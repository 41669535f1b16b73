"""The files a job leaves under ``results/<job_id>/``: the result files, the posture pictures with faces blurred, the
annotated video when asked, and the faces found in the pictured frames; written alike by the analysis job
(:mod:`.task`) and the re-score job (:mod:`.rescore`), so each has one way to write them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from .keys import results_prefix
from .records import files_note, record_of
from .settings import AnalysisSettings

if TYPE_CHECKING:
    from pipeline.pose.blazeface import FaceDetector
    from pipeline.result_model import AnalysisResult

    from ..execution import TaskContext

log = structlog.get_logger(__name__)


def face_detector(settings: AnalysisSettings) -> FaceDetector | None:
    """BlazeFace, to blur everyone's face in the pictures and the annotated video; None, with a warning in the log,
    where its model file was never fetched (a models folder from before it was added): the pictures then blur only
    the worker's face and say so (``faces_searched``), rather than the job failing at its very end."""
    from pipeline.errors import ModelMissing
    from pipeline.pose.blazeface import load_face_detector

    try:
        return load_face_detector(settings.models_folder(), settings.device)
    except ModelMissing as error:
        log.warning("faces.model_missing", error=str(error))
        return None


def write_job_files(context: TaskContext, result: AnalysisResult, video: Path | None, scratch: Path, blur_faces: bool,
                    faces: FaceDetector | None, overlay: bool, known_faces: bytes | None = None) -> None:
    """The result files, the posture pictures and (when asked) the annotated video, under ``results/<job_id>/``; the
    faces found in the pictured frames beside the pictures (:mod:`pipeline.face_memory`: ``known_faces``, another
    job's, are not searched for again)."""
    from pipeline.face_memory import RememberedFaces
    from pipeline.results import CONTENT_TYPES, FILES, PICTURES, write_results

    store = context.task.app.store
    # the record as the job holds it now (edited since the job started, perhaps); a later edit writes the files again
    record = record_of(context.task.app.jobs.read(context.request.id).doc)
    remembered = RememberedFaces(faces, known_faces) if faces is not None else None
    paths = write_results(result, scratch / "results", video, blur_faces=blur_faces, faces=faces, memory=remembered, overlay=overlay,
                          record=record)
    prefix = results_prefix(context.request.id)
    keys = {}
    if remembered is not None and remembered.found:  # beside the pictures, not a result file: found by its place
        store.put(faces_key(context.request.id), remembered.to_bytes(), content_type="application/json")
    for artifact, path in paths.items():
        keys[artifact] = f"{prefix}{FILES[artifact]}"
        store.upload_file(keys[artifact], path, content_type=CONTENT_TYPES[artifact])
    for picture in result.pictures:  # listed by their path under the job's results: frames/<time>.jpg
        name = f"{PICTURES}/{picture.file}"
        keys[name] = f"{prefix}{name}"
        store.upload_file(keys[name], scratch / "results" / name, content_type="image/jpeg")
    context.annotate(**files_note(record))  # in the document, with the result: each poll sees if the files are current
    context.set_result_keys(**keys)


def faces_key(job_id: str) -> str:
    """Where a job keeps the faces found in the frames it pictured (:mod:`pipeline.face_memory`), for its re-scores."""
    from pipeline.face_memory import FACES_FILE
    from pipeline.results import PICTURES

    return f"{results_prefix(job_id)}{PICTURES}/{FACES_FILE}"
