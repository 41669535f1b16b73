"""From where the worker was filmed, in a safety engineer's words (issue 23): ``inputs.viewpoint`` told once
(:func:`pipeline.viewpoint.viewpoint_words`), written in the PDF's "Measured and assumed" section and passed by the
job's view to the page as text, beside the camera's tilt and its uncertainty."""

from __future__ import annotations

import pytest

from pipeline.result_model import ViewpointRecord
from pipeline.viewpoint import VIEWS, viewpoint_words


def record(median: float | None, **frames: int) -> ViewpointRecord:
    """A viewpoint with ``frames`` per view (the others none) and its median azimuth."""
    return ViewpointRecord(frames={name: frames.get(name, 0) for name, _ in VIEWS}, median_azimuth=median)


def test_mostly_from_the_front_with_some_frames_from_behind_warns_of_the_depth():
    words = viewpoint_words(record(12.3, front=80, oblique_front=8, oblique_back=2, back=10))
    assert words.startswith("Filmed mostly from the front (median azimuth 12°")
    assert "12% of frames from behind" in words and "least reliable" in words


def test_from_the_side_with_no_frame_from_behind_says_so():
    words = viewpoint_words(record(91.0, side=50, oblique_front=3))
    assert words.startswith("Filmed mostly from the side (median azimuth 91°") and words.endswith("no frames from behind.")
    assert "least reliable" not in words


@pytest.mark.parametrize(("median", "view"), [(0.0, "the front"), (45.0, "the front at an angle"), (135.0, "behind at an angle"),
                                              (180.0, "behind")])
def test_the_view_named_is_the_median_azimuths(median, view):
    assert viewpoint_words(record(median, back=1)).startswith(f"Filmed mostly from {view} (")


def test_from_behind_all_the_time():
    words = viewpoint_words(record(172.0, back=40))
    assert "mostly from behind" in words and "100% of frames from behind" in words and "film from the side" in words


def test_none_recorded_gives_no_line_and_no_frame_that_told_it_says_not_known():
    assert viewpoint_words(None) is None  # no 3D points, or a result from before viewpoints
    assert viewpoint_words(record(None)).startswith("Not known")


@pytest.mark.slow
def test_the_report_and_the_jobs_view_say_the_viewpoint_of_a_real_analysis(analysed, tmp_path):
    """The demo clip analysed by BlazePose: its PDF has the line beside the vertical's, and the job's view the same
    words for the page."""
    from pypdf import PdfReader

    from ergo_tasks.service.settings import ServiceSettings
    from ergo_tasks.service.views import JobViews
    from pipeline.report import write_report
    from pipeline.results import load_result
    from tests.helpers import make_app

    store, doc, _ = analysed
    result = load_result(store.get(doc.result_keys["pkl"]).body)
    words = viewpoint_words(result.inputs.viewpoint)
    assert words and words.startswith("Filmed mostly from")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(write_report(result, tmp_path / "r.pdf", [])).pages).split())
    section = text[text.index("Measured and assumed"):]
    assert section.index("Vertical: ") < section.index(f"Viewpoint: {words[:40]}")
    assert JobViews(make_app(store, eager=False), ServiceSettings()).status(doc)["viewpoint"] == words
