"""Analysing a video file on this machine, through the task engine, with no account.

The video goes into the embedded local store, the analysis job runs in this
process exactly as a worker would run it (status document, checkpoints,
results under ``results/<job_id>/``), and the result files are copied to a
folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from pipeline.presets import DEFAULT_PRESET
from pipeline.task_record import TaskRecord
from statestore import StorageSettings
from statestore.local import LocalStore

from .. import bootstrap
from ..app import default_worker_id
from ..settings import TaskSettings
from ..states import State
from ..status import JobStatus
from . import TASK_MODULES
from .keys import OPERATOR, results_prefix, upload_key
from .records import change_record
from .task import ANALYZE_TASK

#: What ``--weights random`` users are told, before and after the run.
RANDOM_WARNING = ("WARNING: --weights random uses an untrained pose model. The poses and risk scores it produces are "
                  "MEANINGLESS; use it only to test the system.")


def run_analysis(video: Path, *, quality: str = DEFAULT_PRESET, model: str | None = None, weights: str | None = None,
                 chunk_size: int | None = None, out: str | Path | None = None, params: dict | None = None,
                 blur_faces: bool = True, overlay: bool | None = None, start_s: float | None = None, end_s: float | None = None,
                 record: TaskRecord | None = None,
                 on_status: Callable[[JobStatus], None] | None = None) -> tuple[JobStatus, Path | None]:
    """Analyse ``video`` here; returns (final status document, results folder or None when it did not succeed).

    ``start_s``/``end_s`` analyse only that part of the video (:mod:`pipeline.time_range`).
    ``record``: the job's task record (station, task, ...), kept with the job and shown by its workbook and report.
    ``on_status`` is called with the job's status about twice a second while it runs (for a progress bar).
    """
    store = LocalStore(StorageSettings().data_dir / "store")
    # the progress display tells the story; warnings and errors still show
    app = bootstrap.start(TASK_MODULES, settings=TaskSettings(eager=False), store=store, log_level="WARNING")
    key = upload_key(video.name)
    store.upload_file(key, video, content_type="video/mp4")
    # one process: parts would only run one after another here, each copying the video again
    kwargs = {"video_key": key, "quality": quality, "model": model, "weights": weights, "split": False}
    if chunk_size:
        kwargs["chunk_size"] = chunk_size
    if params:
        kwargs["params"] = params
    if not blur_faces:
        kwargs["blur_faces"] = False
    if overlay is not None:
        kwargs["overlay"] = overlay
    kwargs.update({name: value for name, value in (("start_s", start_s), ("end_s", end_s)) if value is not None})
    job = app.send_task(ANALYZE_TASK, kwargs=kwargs, owner=OPERATOR)  # an operator at this machine
    if record is not None:
        change_record(app.jobs, job.id, record)  # before it runs: the job is only queued yet
    runner = threading.Thread(target=app.run_until_ready, args=(job.id, default_worker_id("analyze")), daemon=True)
    runner.start()
    while runner.is_alive():
        if on_status:
            on_status(job.status_doc)
        runner.join(timeout=0.5)
    doc = job.status_doc
    if on_status:
        on_status(doc)
    if doc.state != State.SUCCESS:
        return doc, None
    folder = Path(out or Path("ergo-results") / job.id)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = results_prefix(job.id)
    for result_key in doc.result_keys.values():  # the files, and the posture pictures under frames/
        target = folder / result_key[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        store.download_file(result_key, target)
    return doc, folder


def failure_message(doc: JobStatus) -> str:
    return doc.error.message if doc.error else f"the job ended as {doc.state}"
