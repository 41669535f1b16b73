"""How long a page of "My analyses" (``list_my_jobs``) takes as the bucket fills with other clients' jobs.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/my_jobs_bench.py [--jobs 500] [--share 0.2] [--limit 20]

An embedded store gets ``--jobs`` completed jobs (each holding a real result document, from an analysis of a small
generated clip), ``--share`` of them the caller's and spread among the others'.  The list reads status documents
newest first until a page is full, and no result file: the figures are the first page, a filtered page whose
matches are few and old (it reads every document), and the whole list walked page by page.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ergo_tasks.analysis import AnalysisSettings, register
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from statestore.local import LocalStore
from tests.helpers import make_app
from tests.history_jobs import add_job, analysed_document


def timed(call) -> tuple[float, dict]:
    start = time.perf_counter()
    answer = call()
    return time.perf_counter() - start, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--share", type=float, default=0.2, help="of the jobs, the caller's")
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="my-jobs-bench-"))
    document = analysed_document(folder)
    app = make_app(LocalStore(folder / "store"), eager=False)
    register(app, AnalysisSettings())
    service = build_service(app, ServiceSettings(dispatch_mode="worker"))
    every = max(1, round(1 / args.share))
    for n in range(args.jobs):
        mine = n % every == 0
        record = {"station": "Rare" if mine and n < every * 2 else f"Line {n % 7}", "task": "Packing"}
        add_job(app, "alice" if mine else f"client-{n % 5}", f"shift {n}.mp4", record, result=document,
                verdict="assessable", rula=1 + n % 7, reba=1 + n % 15)
    alice = Caller(client="alice", operator=False, internal=False)
    first_s, first = timed(lambda: service.handle("list_my_jobs", {"limit": args.limit}, alice))
    rare_s, rare = timed(lambda: service.handle("list_my_jobs", {"limit": args.limit, "station": "rare"}, alice))
    walked, pages, cursor, start = 0, 0, None, time.perf_counter()
    while True:
        answer = service.handle("list_my_jobs", {"limit": args.limit, **({"cursor": cursor} if cursor else {})}, alice)
        walked, pages, cursor = walked + len(answer["jobs"]), pages + 1, answer["next_cursor"]
        if cursor is None:
            break
    print(json.dumps({"jobs": args.jobs, "callers_jobs": walked, "limit": args.limit,
                      "first_page_s": round(first_s, 3), "first_page_rows": len(first["jobs"]),
                      "rare_filter_s": round(rare_s, 3), "rare_filter_rows": len(rare["jobs"]),
                      "walk_s": round(time.perf_counter() - start, 3), "walk_pages": pages,
                      "result_document_bytes": len(json.dumps(document))}, indent=1))


if __name__ == "__main__":
    main()
