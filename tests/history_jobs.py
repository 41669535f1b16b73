"""Jobs for the "My analyses" tests (tests/test_my_jobs.py, tests/test_page_history.py): a real result document, and
jobs of any owner with a task record, completed with that result (its verdict and maxima changed) or still queued."""

from __future__ import annotations

import json
from pathlib import Path

from ergo_tasks.analysis import ANALYZE_TASK, RESCORE_TASK
from ergo_tasks.analysis.keys import upload_key
from ergo_tasks.app import TaskApp
from ergo_tasks.states import State
from pipeline.result_model import read_document


def analysed_document(folder: Path) -> dict:
    """The result document of a real analysis (keypointrcnn with random weights: every stage runs) of a small clip."""
    from pipeline.analysis import AnalysisOptions, analyze_video
    from pipeline.pose.keypointrcnn import KeypointRCNN
    from pipeline.presets import get_preset
    from pipeline.synthetic import make_video

    video = make_video(folder / "station.mp4", frames=20, width=96, height=64, fps=10)
    return analyze_video(video, KeypointRCNN("random", device="cpu", precision="fp32"), AnalysisOptions(get_preset("low"))).document()


def add_job(app: TaskApp, owner: str, name: str, record: dict | None = None, *, result: dict | None = None,
            verdict: str | None = None, rula: int | None = None, reba: int | None = None, rescored_from: str | None = None) -> str:
    """A job of ``owner``'s for the video ``name`` with a task record; with ``result``, completed with it (its verdict
    and maxima set as given), else queued; ``rescored_from``: as a re-score of that job.  Nothing runs it: the app's
    workers must be off.  The record and the link are where service/history.py reads them."""
    kwargs = {"video_key": upload_key(name, owner), "quality": "low", **({"source_job_id": rescored_from} if rescored_from else {})}
    task = RESCORE_TASK if rescored_from else ANALYZE_TASK
    doc = app.queue.enqueue(task, [], kwargs, 0, owner=owner, annotations={"record": record} if record else None)
    if result is not None:
        changed = read_document(result)
        if verdict:
            changed.summary.verdict.status = verdict
        changed.summary.rula.max, changed.summary.reba.max = rula, reba
        lease = app.queue.claim("test-worker", job_id=doc.job_id).doc.lease
        app.queue.finish(doc.job_id, lease, State.SUCCESS, result=json.loads(changed.model_dump_json()))
    return doc.job_id
