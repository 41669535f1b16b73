"""How long editing a completed job's task record takes, against analysing the job in the first place.

    .venv/bin/python benchmarks/record_bench.py [--seconds 60] [--edits 3]

A synthetic clip of ``--seconds`` at 10 frames/s is analysed at ``low`` through the job API on an embedded store
(keypointrcnn with random weights: every stage runs, on the CPU); then ``update_record`` is called ``--edits``
times, each with another record.  Each call writes the PDF report and the workbook again from ``result.pkl`` and the
posture pictures (``ergo_tasks/analysis/records.py``); nothing is analysed again.  Printed: the frames analysed, the
analysis's time, each edit's time, and the slowest edit as a share of the analysis.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the synthetic clip")
    parser.add_argument("--edits", type=int, default=3, help="how many times the record is edited")
    args = parser.parse_args()
    os.environ.update(ERGO_POSE_MODEL="keypointrcnn", ERGO_POSE_WEIGHTS="random")

    from ergo_tasks.analysis import AnalysisSettings, register
    from ergo_tasks.analysis.keys import upload_key
    from ergo_tasks.service.actions import build_service
    from ergo_tasks.service.requests import Caller
    from ergo_tasks.service.settings import ServiceSettings
    from pipeline.synthetic import make_video
    from statestore.local import LocalStore
    from tests.helpers import make_app

    folder = Path(tempfile.mkdtemp(prefix="record-bench-"))
    app = make_app(LocalStore(folder / "store"), eager=False)
    register(app, AnalysisSettings())
    service, caller = build_service(app, ServiceSettings(dispatch_mode="inline")), Caller()

    def call(action: str, **params) -> dict:
        answer = service.handle(action, params, caller)
        assert answer["status"] == "success", answer
        return answer

    video = make_video(folder / "station.mp4", frames=round(args.seconds * 10), width=320, height=240, fps=10)
    key = upload_key(video.name)
    app.store.upload_file(key, video, content_type="video/mp4")
    started = time.perf_counter()
    job_id = call("start_processing", video_key=key, quality="low", record={"station": "Line 3"})["job_id"]
    analysis = time.perf_counter() - started
    before = call("get_status", job_id=job_id)["job_status"]
    edits = []
    for number in range(args.edits):
        started = time.perf_counter()
        answer = call("update_record", job_id=job_id, record={"station": "Line 3", "assessor": f"assessor {number}",
                                                               "notes": "edited\n" * number})
        edits.append(time.perf_counter() - started)
        assert answer["files_rewritten"] and answer["job_status"]["summary"] == before["summary"]
    print(f"frames analysed: {before['summary']['frames_analysed']} ({args.seconds:g} s of video at low)")
    print(f"analysis: {analysis:.1f} s")
    print("record edits (PDF and workbook written again): " + ", ".join(f"{edit:.2f} s" for edit in edits))
    print(f"slowest edit / analysis: {max(edits) / analysis:.3f}")


if __name__ == "__main__":
    main()
