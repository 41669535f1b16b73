"""Before and after (issue 28, item 5): two of one's analyses side by side, from the pure comparison through the
``compare_jobs`` action and its PDF to ``ergo compare``.

The results are real: the demo video analysed by BlazePose with the worker lifting 12 kg (a task detail the video
cannot show), its last six seconds with nothing lifted as the "after", and a clip without a person for a job that is
not assessable."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from ergo_tasks.analysis import ANALYZE_TASK, register
from ergo_tasks.analysis.keys import OPERATOR, upload_key
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.comparing import comparison_pdf_key
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from ergo_tasks.states import State
from pipeline.comparison import compare, headline_words
from pipeline.ergonomics import level_labels
from pipeline.report import score_level
from pipeline.result_model import TimeRangeRecord, read_document
from statestore.local import LocalStore
from tests.helpers import make_app, storage_env

ALICE = Caller(client="alice", operator=False, internal=False)
BOB = Caller(client="bob", operator=False, internal=False)
#: The load lifted before the change and after it (kg): the one task detail the two jobs differ in.
LOADS = (12, 0)


def analysed_jobs(folder, owner: str | None = None) -> tuple[LocalStore, dict[str, str]]:
    """An embedded store under ``folder`` (as `ergo serve` finds it) with two videos analysed by BlazePose: the demo
    video before the change (12 kg lifted) and its last six seconds after it (nothing lifted), and a clip without a
    person: (store, {"before", "after", "nobody": job id})."""
    from pipeline.demo import frames, make_demo_video
    from pipeline.synthetic import make_video
    from pipeline.video import write_video

    store = LocalStore(folder / "store")
    app = make_app(store)
    register(app)
    jobs = {}
    after = write_video(folder / "line 3 after change.mp4", itertools.islice(frames(10), 80, 140), fps=10)
    for name, video, params in (("before", make_demo_video(folder / "line 3 packing.mp4"), {"load_kg": LOADS[0]}),
                                ("after", after, {"load_kg": LOADS[1]}),
                                ("nobody", make_video(folder / "empty bench.mp4", frames=20, width=96, height=64), {})):
        key = upload_key(video.name, owner or OPERATOR)
        store.upload_file(key, video)
        doc = app.send_task(ANALYZE_TASK, kwargs={"video_key": key, "quality": "low", "model": "blazepose", "params": params},
                            owner=owner).status_doc
        assert doc.state == State.SUCCESS, doc.error
        jobs[name] = doc.job_id
    return store, jobs


@pytest.fixture(scope="module")
def analysed_pair(pose_models, tmp_path_factory):
    """Alice's three analysed jobs, a job of Bob's and one of Alice's still queued: (store, job ids by name)."""
    store, jobs = analysed_jobs(tmp_path_factory.mktemp("compare"), owner=ALICE.owner)
    queue = make_app(store, eager=False).queue
    jobs["bobs"] = queue.enqueue(ANALYZE_TASK, [], {"video_key": "uploads/x/y.mp4"}, 0, owner=BOB.owner).job_id
    jobs["queued"] = queue.enqueue(ANALYZE_TASK, [], {"video_key": "uploads/x/z.mp4"}, 0, owner=ALICE.owner).job_id
    return store, jobs


@pytest.fixture(scope="module")
def service(analysed_pair):
    store, _ = analysed_pair
    app = make_app(store, eager=False)
    register(app)
    return build_service(app, ServiceSettings(dispatch_mode="worker"))


def results(store, jobs, *names):
    app = make_app(store)
    return [read_document(app.jobs.read(jobs[name]).doc.result) for name in names]


def test_two_real_results_side_by_side_with_levels_and_every_difference(analysed_pair):
    store, jobs = analysed_pair
    before, after = results(store, jobs, "before", "after")
    comparison = compare(before, after)
    assert (comparison.before.job_id, comparison.after.job_id) == (jobs["before"], jobs["after"])
    for headline in comparison.headlines:
        blocks = [getattr(result.summary, headline.method) for result in (before, after)]
        assert [headline.before.max, headline.after.max] == [block.max for block in blocks]
        assert [headline.before.mean, headline.after.mean] == [block.mean for block in blocks]
        labels = [level_labels(headline.method)[score_level(headline.method, block.max)] for block in blocks]
        assert [headline.before.level_label, headline.after.level_label] == labels
        assert headline.max_difference == blocks[1].max - blocks[0].max
        name = headline.method.upper()
        assert headline.words.startswith(f"{name} max {blocks[0].max} → {blocks[1].max} ({labels[0]} → {labels[1]})")
    # the load was the intervention: a lighter load lowers both methods' highest score here
    assert all(headline.max_difference < 0 for headline in comparison.headlines), [h.words for h in comparison.headlines]
    assert ("Load handled", f"{LOADS[0]} kg", f"{LOADS[1]} kg") in [(c.label, c.before, c.after) for c in comparison.input_changes]
    # every band of every body part either job reports, with after − before
    reported = {(part, band) for result in (before, after) for part, bands in result.summary.time_in_band.items() for band in bands}
    assert {(row.part, row.band) for row in comparison.bands} == reported
    for row in comparison.bands:
        times = [result.summary.time_in_band[row.part][row.band] for result in (before, after)]
        assert (row.before_share, row.after_share, row.before_s, row.after_s) == (times[0].share, times[1].share,
                                                                                  times[0].seconds, times[1].seconds)
        assert row.difference_share == pytest.approx(times[1].share - times[0].share, abs=1e-4)
    assert (f"The parts analysed are of different lengths ({before.video.duration:.1f} s before, {after.video.duration:.1f} s "
            "after): compare the shares of time in each band, not the seconds.") in comparison.caveats
    assert any(row.difference_share for row in comparison.bands)  # the after video's postures are not the before's
    partly = [name for name, result in (("before", before), ("after", after)) if result.summary.verdict.status == "partly assessable"]
    assert [caveat for caveat in comparison.caveats if "partly assessable" in caveat] == [
        f"The {name} job is only partly assessable: read its figures with its reasons in mind." for name in partly]


def test_a_job_that_is_not_assessable_shows_no_score_and_no_difference(analysed_pair):
    store, jobs = analysed_pair
    before, nobody = results(store, jobs, "before", "nobody")
    assert nobody.summary.verdict.status == "not assessable"
    comparison = compare(before, nobody)
    assert not comparison.after.assessable and comparison.before.assessable
    for headline in comparison.headlines:
        assert headline.after is None and headline.max_difference is None and headline.mean_difference is None
        assert headline.before.max == getattr(before.summary, headline.method).max
        assert "no difference is given" in headline.words and "not assessable" in headline.words
    assert all(row.after_s is None and row.difference_share is None for row in comparison.bands)
    assert "The after job is not assessable: it has no score, so no difference is given." in comparison.caveats


def test_another_preset_and_an_input_measured_in_one_only_are_said_as_caveats(analysed_pair):
    store, jobs = analysed_pair
    before, after = results(store, jobs, "before", "after")
    assert not [caveat for caveat in compare(before, after).caveats if "preset" in caveat or "Measured" in caveat]
    measured = after.inputs.measured[0]
    finer = after.model_copy(update={"preset": after.preset.model_copy(update={"name": "medium", "sample_fps": 5.0}),
                                     "inputs": after.inputs.model_copy(update={"measured": after.inputs.measured[1:]})})
    caveats = " ".join(compare(before, finer).caveats)
    # a time range (issue 28, item 4) is the length that counts, and is named
    cycle = before.model_copy(update={"time_range": TimeRangeRecord(start_s=2.0, end_s=9.0)})
    ranged = compare(before, cycle)
    assert (ranged.after.analysed_s, ranged.after.span) == (7.0, cycle.analysed_span()) and ranged.before.span is None
    assert f"different lengths ({before.video.duration:.1f} s before, 7.0 s after)" in " ".join(ranged.caveats)
    assert f"different quality presets (before low, {before.preset.sample_fps:g} frames a second; after medium, 5)" in caveats
    assert f"Measured from the video in the before job only, assumed from the task details in the after job: " \
           f"{measured.replace('_', ' ')}." in caveats


def test_compare_jobs_answers_the_comparison_and_a_pdf_with_both_headlines_kept_until_a_job_changes(analysed_pair, service):
    from pypdf import PdfReader

    store, jobs = analysed_pair
    answer = service.handle("compare_jobs", {"before": jobs["before"], "after": jobs["after"]}, ALICE)
    assert answer["status"] == "success", answer
    expected = compare(*results(store, jobs, "before", "after"))
    assert answer["comparison"] == expected.model_dump(mode="json")
    assert answer["pdf_url"] and answer["expires_in"] == service.settings.download_url_expiry_s
    key = comparison_pdf_key(jobs["before"], jobs["after"])
    assert key.startswith("results/comparisons/")
    drawn = store.head(key).etag
    path = store.root.parent / "comparison.pdf"
    store.download_file(key, path)
    reader = PdfReader(path)
    assert len(reader.pages) <= 2
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for headline in expected.headlines:
        assert headline_words(headline, arrow="to") in text
    assert jobs["before"] in text and jobs["after"] in text and "Time in each posture band" in text
    assert "Verdicts" in text and "Hignett" in text and "McAtamney" in text
    # asked again, nothing changed: the same PDF, not drawn again
    assert service.handle("compare_jobs", {"before": jobs["before"], "after": jobs["after"]}, ALICE)["status"] == "success"
    assert store.head(key).etag == drawn
    # a task record given to the jobs afterwards (update_record) is a change: drawn again, with it
    record = {"station": "Line 3", "task": "Packing boxes", "department": "Dispatch", "assessor": "R. Okafor", "notes": "lift assist"}
    for job in (jobs["before"], jobs["after"]):
        assert service.handle("update_record", {"job_id": job, "record": record}, ALICE)["status"] == "success"
    again = service.handle("compare_jobs", {"before": jobs["before"], "after": jobs["after"]}, ALICE)
    assert again["comparison"]["before"]["record"] == record == again["comparison"]["after"]["record"]
    assert store.head(key).etag != drawn
    store.download_file(key, path)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())
    assert "Line 3" in text and "Packing boxes" in text and "R. Okafor" in text


def test_compare_jobs_refuses_another_clients_job_as_get_status_does_an_unfinished_one_and_an_unknown_id(analysed_pair, service):
    store, jobs = analysed_pair
    for other in ("bobs", None):  # Bob's job reads to Alice exactly as a job that does not exist
        job_id = jobs[other] if other else "01ZZZZZZZZZZZZZZZZZZZZZZZZ"
        refused = service.handle("compare_jobs", {"before": jobs["before"], "after": job_id}, ALICE)
        assert refused == service.handle("get_status", {"job_id": job_id}, ALICE)
        assert refused["code"] == "job_not_found" and refused["error"] == f"There is no job with id {job_id}."
    assert service.handle("compare_jobs", {"before": jobs["bobs"], "after": jobs["after"]}, ALICE)["code"] == "job_not_found"
    assert service.handle("get_status", {"job_id": jobs["bobs"]}, BOB)["status"] == "success"  # it exists: Bob's own
    queued = service.handle("compare_jobs", {"before": jobs["queued"], "after": jobs["after"]}, ALICE)
    assert queued["code"] == "not_ready"
    assert queued["error"] == f"Job {jobs['queued']} has not completed (its status: queued): only a completed analysis can be compared."
    same = service.handle("compare_jobs", {"before": jobs["after"], "after": jobs["after"]}, ALICE)
    assert same["code"] == "invalid_input" and "two different analyses" in same["error"]
    assert service.handle("compare_jobs", {"before": jobs["before"]}, ALICE)["code"] == "invalid_input"
    assert not store.exists(comparison_pdf_key(jobs["queued"], jobs["after"]))


def test_ergo_compare_prints_the_comparison_in_words_and_saves_the_pdf(analysed_pair, tmp_path):
    store, jobs = analysed_pair  # the console is the operator's: any job
    out = tmp_path / "before-after.pdf"
    done = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "compare", jobs["before"], jobs["after"], "--pdf", str(out)],
                          env=storage_env(store), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = compare(*results(store, jobs, "before", "after"))
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Before: line_3_packing.mp4, job {jobs['before']}")
    assert lines[1].startswith(f"After: line_3_after_change.mp4, job {jobs['after']}")
    for headline in expected.headlines:
        assert headline.words in lines
    assert f"Task detail changed: Load handled: {LOADS[0]} kg → {LOADS[1]} kg" in lines
    assert out.read_bytes().startswith(b"%PDF") and out.read_bytes() == store.get(comparison_pdf_key(jobs["before"], jobs["after"])).body
    unfinished = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "compare", jobs["before"], "01ZZZZZZZZZZZZZZZZZZZZZZZZ"],
                                env=storage_env(store), capture_output=True, text=True, timeout=120)
    assert unfinished.returncode == 2 and "There is no job with id 01ZZZZZZZZZZZZZZZZZZZZZZZZ" in unfinished.stderr


def test_purging_a_job_deletes_its_comparisons_and_no_other(pose_models, tmp_path):
    from ergo_tasks.analysis.retention import purge_job

    store, jobs = analysed_jobs(tmp_path, owner=ALICE.owner)
    app = make_app(store, eager=False)
    register(app)
    service = build_service(app, ServiceSettings(dispatch_mode="worker"))
    pairs = [("before", "after"), ("after", "nobody"), ("before", "nobody")]
    for first, second in pairs:
        assert service.handle("compare_jobs", {"before": jobs[first], "after": jobs[second]}, ALICE)["status"] == "success"
    assert purge_job(app, jobs["nobody"])
    kept = {pair: store.exists(comparison_pdf_key(jobs[pair[0]], jobs[pair[1]])) for pair in pairs}
    assert kept == {("before", "after"): True, ("after", "nobody"): False, ("before", "nobody"): False}
    assert [info.key for info in store.list("results/comparisons/")] == [
        f"results/comparisons/{jobs['before']}_{jobs['after']}/{name}" for name in ("comparison.json", "comparison.pdf")]
