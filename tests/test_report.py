"""The PDF report and the workbook, as a safety engineer opens them: the report of a real BlazePose analysis of the
demo clip (the session's ``analysed`` fixture) is rendered to images with Poppler's pdftoppm and read back with
pdftotext's word boxes, and each check looks at the pages as drawn."""

from __future__ import annotations

import io
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from pipeline.evidence import write_pictures
from pipeline.report import INPUT_WORDS, input_words, write_report
from pipeline.results import load_result

DPI = 60
#: Strip labels of the timelines: the two levels and each body part of each method.
STRIP_COUNT = 2 + 12
STRIP_WORDS = ("level", "upper", "lower", "wrist", "neck", "trunk", "legs")
#: Warnings as the analysis writes them, to push the timelines down the first pages.
WARNING = ("The worker is small in the frame (about 90 px tall): angles are less certain, and the scores may be off by "
           "a band; film closer or at a higher quality preset.")


@pytest.fixture(scope="module")
def evidence(analysed, tmp_path_factory):
    """(result, pictures) of the analysed demo clip, the pictures drawn again into a folder of this module."""
    store, doc, video = analysed
    result = load_result(store.get(doc.result_keys["pkl"]).body)
    folder = tmp_path_factory.mktemp("report")
    pictures = write_pictures(result, video, folder / "frames")
    return result, [(folder / "frames" / p.file, p) for p in pictures]


@pytest.fixture(scope="module")
def drawn(evidence, tmp_path_factory) -> tuple[Path, list[Page]]:
    """The report of the demo clip without warnings, and its pages as drawn (rendered once for the checks below)."""
    path = report(evidence, tmp_path_factory.mktemp("drawn") / "report.pdf")
    return path, pages(path)


def report(evidence, path: Path, warnings: int = 0) -> Path:
    result, pictures = evidence
    result = result.model_copy(update={"summary": result.summary.model_copy(update={"warnings": [WARNING] * warnings})})
    return write_report(result, path, pictures)


class Page:
    """One page as drawn: its pixels (RGB) and its words with their boxes, in points from the top left."""

    def __init__(self, pixels: np.ndarray, size: tuple[float, float], words: list[tuple[str, float, float, float, float]]):
        self.pixels, self.size, self.words = pixels, size, words

    @property
    def text(self) -> str:
        return " ".join(word for word, *_ in self.words)

    def at(self, x: float, y: float) -> np.ndarray:
        """The pixel at a point (points from the top left)."""
        scale = DPI / 72
        return self.pixels[min(int(y * scale), self.pixels.shape[0] - 1), min(int(x * scale), self.pixels.shape[1] - 1)]


class _Words(HTMLParser):
    def __init__(self):
        super().__init__()
        self.pages: list[tuple[tuple[float, float], list]] = []
        self.word: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "page":
            self.pages.append(((float(attrs["width"]), float(attrs["height"])), []))
        elif tag == "word":
            self.word = [float(attrs[k]) for k in ("xmin", "ymin", "xmax", "ymax")]

    def handle_data(self, data):
        if self.word is not None:
            self.pages[-1][1].append((data, *self.word))
            self.word = None


def pages(pdf: Path) -> list[Page]:
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(pdf.with_suffix(""))], check=True)
    parser = _Words()
    parser.feed(subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout)
    images = sorted(pdf.parent.glob(f"{pdf.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert len(images) == len(parser.pages)
    return [Page(np.asarray(Image.open(image).convert("RGB")), size, words)
            for image, (size, words) in zip(images, parser.pages, strict=True)]


def strip_labels(page: Page) -> list[tuple[str, float, float, float, float]]:
    """The timeline strips' labels ("RULA level", "REBA upper arm", ...): their first words, at the left margin."""
    margin = min(x for _, x, *_ in page.words)
    return [w for w, after in zip(page.words, page.words[1:]) if w[0] in ("RULA", "REBA") and abs(w[1] - margin) < 1
            and after[0] in STRIP_WORDS and abs(after[2] - w[2]) < 1]


def test_tables_after_the_timelines_are_white_not_the_last_strips_colour(drawn):
    """Issue 27, point 1: each table's cells after the coloured timelines are white."""
    sampled = 0
    for page in drawn[1]:
        for word, _, y0, x1, y1 in page.words:
            if word in ("acceptable", "negligible", "backward", "handled"):  # words in table cells only
                background = page.at(x1 + 4, (y0 + y1) / 2).astype(int)  # inside the cell, right of its words
                assert background.min() > 245, (word, background)
                sampled += 1
    assert sampled >= 4  # the RULA and REBA level tables, the bands, the task details


@pytest.mark.parametrize("warnings", [0, 2, 3, 5, 8])
def test_each_strip_label_is_on_the_page_of_its_bar_and_no_page_is_nearly_empty(evidence, tmp_path, warnings):
    """Issue 27, point 2: however far warnings push the content down, each timeline label sits beside its coloured
    bar on the same page, and no page but the last is left mostly empty."""
    drawn = pages(report(evidence, tmp_path / "report.pdf", warnings))
    labels = 0
    for page in drawn:
        for _, x0, y0, _, y1 in strip_labels(page):
            middle = (y0 + y1) / 2
            bar = np.array([page.at(x, middle) for x in np.linspace(x0 + 110, page.size[0] - 40, 40)], dtype=int)
            assert (bar.min(axis=1) < 245).mean() > 0.95, f"{warnings} warnings: a label without its bar"
            labels += 1
    assert labels == STRIP_COUNT
    for number, page in enumerate(drawn[:-1], start=1):
        body = page.pixels[: int(page.pixels.shape[0] * 0.93)]  # above the footer
        inked = np.flatnonzero((body.min(axis=2) < 200).any(axis=1))
        assert inked[-1] > body.shape[0] / 3, f"{warnings} warnings: page {number} of {len(drawn)} is nearly empty"


def test_every_page_names_the_job_the_video_the_date_and_page_n_of_n(evidence, drawn):
    """Issue 27, point 3: a page on its own says which report it belongs to."""
    result, _ = evidence
    _, drawn = drawn
    for number, page in enumerate(drawn, start=1):
        for words in (f"page {number} of {len(drawn)}", result.job_id, result.video.name, result.created_at[:10]):
            assert words in page.text, (number, words)


def test_timelines_have_a_time_axis(drawn):
    """Issue 27, point 3: the strips are read against time ticks (m:ss) under them."""
    page = next(p for p in drawn[1] if "Risk over time" in p.text)
    labels = strip_labels(page)
    ticks = [w for w in page.words if re.fullmatch(r"\d+:\d\d", w[0])]
    last = max(label[4] for label in labels)
    below = [t for t in ticks if last < t[2] < last + 20]  # under the last strip
    assert len(below) >= 4 and [t[1] for t in below] == sorted(t[1] for t in below)
    assert len(ticks) >= 8  # under the levels and under the body parts


def test_task_details_read_as_words_not_field_names(drawn):
    """Issue 27, point 3: "Load handled: 0 kg", "Legs supported and balanced: yes"; no True/False, no field names."""
    from pipeline.assessment import AssessmentParams

    assert set(INPUT_WORDS) == set(AssessmentParams.model_fields)  # a new task detail needs its words
    text = " ".join(page.text for page in drawn[1])
    assert "Load handled 0 kg" in text and "Legs supported and balanced yes" in text
    for dump in ("True", "False", "load kg", "rula force load", "legs supported yes"):
        assert dump not in text, dump


def test_the_vertical_and_the_camera_angle_are_told_in_words(drawn):
    """Issue 23: which vertical trunk and neck were measured against, the camera angle's method and confidence."""
    from pipeline.angles import CameraTilt
    from pipeline.assessment import AssessmentParams
    from pipeline.report import vertical_words
    from pipeline.result_model import CameraTiltRecord

    text = " ".join(page.text for page in drawn[1])
    assert "Vertical: " in text
    given = vertical_words(CameraTiltRecord(**CameraTilt(18.0, -3.0, "given").as_dict()))
    assert "given with the job" in given and "tilted down 18°" in given and "rolled 3° clockwise" in given
    estimated = vertical_words(CameraTiltRecord(**CameraTilt(-6.0, 2.0, "stance", 13, 6.3).as_dict()))
    assert "stance" in estimated and "tilted up 6°" in estimated and "13 frames" in estimated and "confidence high" in estimated
    assert "could not be estimated" in vertical_words(CameraTiltRecord(**CameraTilt(0.0, 0.0, "none", 2).as_dict()))
    assert "no 3D points" in vertical_words(None)
    unset, given = dict(input_words(AssessmentParams())), dict(input_words(AssessmentParams(camera_pitch=12.0, camera_roll=4.0)))
    assert unset[INPUT_WORDS["camera_pitch"][0]] == "not given" and given[INPUT_WORDS["camera_roll"][0]] == "4°"


def test_no_words_overlap(evidence, tmp_path):
    """Issue 27, point 3: captions and labels never run into each other."""
    for number, page in enumerate(pages(report(evidence, tmp_path / "report.pdf", warnings=3)), start=1):
        boxes = sorted(page.words, key=lambda w: (w[2], w[1]))
        for i, (word, x0, y0, x1, y1) in enumerate(boxes):
            for other, a0, b0, a1, b1 in boxes[i + 1:]:
                if b0 >= y1 - 0.5:
                    break
                overlap = min(x1, a1) - max(x0, a0) > 0.5 and min(y1, b1) - max(y0, b0) > 1.5
                assert not overlap, (number, word, other)


def test_the_first_page_is_read_in_half_a_minute(drawn):
    """The first page: the headline scores with their levels, what they stand on, the three worst moments pictured."""
    from pypdf import PdfReader

    path, drawn = drawn
    first = drawn[0].text
    for words in ("RULA: highest score", "action level", "REBA: highest score", "risk level", "What the scores stand on",
                  "frames analysed", "scored exactly", "The worst moments", "Quality preset", "blazepose"):
        assert words in first, words
    assert len(PdfReader(path).pages[0].images) == 3
    fonts = {font["/BaseFont"] for page in PdfReader(path).pages for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("OpenSans" in font for font in fonts)  # the shipped typeface, nothing else


PARTLY = {"status": "partly assessable", "reasons": ["Body parts were out of view most of the time: the legs in 28 of 28 frames."],
          "advice": ["Film the whole body, from the side, with nothing in front of the worker."]}
NOT_ASSESSABLE = {"status": "not assessable", "reasons": ["No person was found in the video."],
                  "advice": ["Film the worker at work, the whole body in the picture."]}


def with_verdict(result, verdict: dict):
    """The result with another verdict (pipeline.result_model.Verdict's fields)."""
    from pipeline.result_model import Verdict

    return result.model_copy(update={"summary": result.summary.model_copy(update={"verdict": Verdict(**verdict)})})


def test_the_verdict_heads_the_first_page_with_its_reasons_and_what_to_do(evidence, tmp_path):
    """The verdict, why and what to do come first, in words."""
    from pypdf import PdfReader

    result, pictures = evidence
    plain = PdfReader(write_report(result, tmp_path / "plain.pdf", pictures)).pages[0].extract_text()
    assert f"Verdict: {result.summary.verdict.status}" in plain and "{" not in plain  # words, not a dump of the record
    reader = PdfReader(write_report(with_verdict(result, PARTLY), tmp_path / "partly.pdf", pictures))
    first = " ".join(reader.pages[0].extract_text().split())
    assert first.index("Verdict: partly assessable") < first.index("out of view most of the time") < first.index("RULA: highest score")
    assert "What to do: Film the whole body" in first
    assert "Signature" in "".join(page.extract_text() for page in reader.pages)  # a partly assessable job is still signed


def test_a_job_that_is_not_assessable_says_so_and_why_and_shows_no_score_and_no_signature(evidence, tmp_path):
    from pypdf import PdfReader

    result, pictures = evidence
    reader = PdfReader(write_report(with_verdict(result, NOT_ASSESSABLE), tmp_path / "none.pdf", pictures))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert text.index("Verdict: not assessable") < text.index("No person was found in the video.")
    for words in ("highest score", "action level", "risk level", "The worst moments", "time at each level", "Assessor's name",
                  "Signature", "What to change"):
        assert words not in text, words
    assert len(reader.pages) == 1 and not reader.pages[0].images and "Pose model" in text


def test_what_to_change_follows_the_first_page_with_each_part_its_recommendation_and_sources(evidence, tmp_path):
    """Issue 28, point 8: each body part that drives the result, why, what to change and its published sources,
    from the repository's table; here the demo clip's trunk scored 4 wherever it was scored, so it drives."""
    from pypdf import PdfReader

    from pipeline.advice import SOURCES, what_to_change
    from pipeline.result_model import Finding

    result, pictures = evidence
    rula = result.rula.columns()
    rula["trunk"] = np.where(np.isnan(rula["trunk"]), np.nan, 4.0)
    findings = [Finding.model_validate(finding) for finding in
                what_to_change({"rula": rula, "reba": result.reba.columns()}, {}, result.frame_indices, 0.5)]
    assert [finding.part for finding in findings][:1] == ["trunk"]
    result = result.model_copy(update={"summary": result.summary.model_copy(update={"what_to_change": findings})})
    reader = PdfReader(write_report(result, tmp_path / "advice.pdf", pictures))
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert "What to change" not in texts[0]  # the first page stays as it was
    text = " ".join(texts)
    trunk = result.summary.what_to_change[0]
    assert text.index("What to change") < text.index("Risk over time")
    for words in ("Trunk", trunk.why, trunk.recommendation, SOURCES["iso11226"][1], SOURCES["rula"][1]):
        assert " ".join(words.split()) in text, words


def test_a_portrait_videos_pictures_keep_the_first_page_whole(evidence, tmp_path):
    """Phone videos are tall: their pictures are drawn no taller than a row allows, so the first page still holds the
    headline, the three worst moments and the job, and picture rows leave no page nearly empty."""
    from PIL import Image

    result, pictures = evidence
    portrait = []
    for image, record in pictures:
        with Image.open(image) as picture:
            width = picture.height * 9 // 16
            left = (picture.width - width) // 2
            picture.crop((left, 0, left + width, picture.height)).save(tmp_path / image.name)
        portrait.append((tmp_path / image.name, record))
    drawn = pages(write_report(result, tmp_path / "report.pdf", portrait))
    for words in ("RULA: highest score", "The worst moments", "Pose model"):
        assert words in drawn[0].text, words
    for number, page in enumerate(drawn[:-1], start=1):
        body = page.pixels[: int(page.pixels.shape[0] * 0.93)]
        assert np.flatnonzero((body.min(axis=2) < 200).any(axis=1))[-1] > body.shape[0] / 2, f"page {number} half empty"


def test_the_pdf_report_reads_page_by_page(analysed):
    """The report the job wrote (its own pictures, from the store) has every section."""
    from pypdf import PdfReader

    store, doc, _ = analysed
    reader = PdfReader(io.BytesIO(store.get(doc.result_keys["pdf"]).body))
    pages = [page.extract_text() for page in reader.pages]
    for words in ("Ergonomic risk assessment", "line_3_packing.mp4", doc.job_id, "Quality preset", "low",
                  "Pose model", "blazepose", "What the scores stand on", "scored exactly"):
        assert words in pages[0], words
    text = "".join(pages)
    for words in ("What to change", "Risk over time", "RULA: time at each level", "Posture pictures (faces blurred)", "Time in each posture band",
                  "Measured from the video", "Load handled", "McAtamney", "Hignett", "Assessor's name", "Signature"):
        assert words in text, words
    pictured = sum(len(page.images) for page in reader.pages[1:])
    assert pictured == len(doc.result["pictures"])


def test_the_workbook_shows_shares_as_percentages(analysed):
    """Issue 27, point 15: shares stay numbers, formatted as percentages (0.2037 reads 20.4%)."""
    from openpyxl import load_workbook

    store, doc, _ = analysed
    sheet = load_workbook(io.BytesIO(store.get(doc.result_keys["xlsx"]).body))["Summary"]
    rows = list(sheet.iter_rows())
    shares = [row[4] for i, row in enumerate(rows) if len(row) > 4 and isinstance(row[4].value, (int, float))
              and any(len(r) > 4 and r[4].value == "Share of scored time" for r in rows[max(0, i - 5):i])]
    assert len(shares) >= 9  # RULA's four levels and REBA's five
    assert all(cell.number_format.endswith("%") and 0 <= cell.value <= 1 for cell in shares)
    rate = next(row[1] for row in rows if row[0].value == "Detection rate")
    assert rate.number_format.endswith("%")


def test_every_body_part_measured_has_its_time_in_band_in_the_summary_the_pdf_and_the_workbook(analysed):
    """Issue 28, item 7: beyond trunk, neck and upper arms, each part the analysis measured (the lower arms, and the
    wrists, knees and side bends where seen) has its time in each band, in the summary, the PDF and the workbook; a
    part never measured is left out rather than shown as 0 s."""
    from openpyxl import load_workbook
    from pypdf import PdfReader

    from pipeline.bands import ALWAYS, PARTS

    store, doc, _ = analysed
    result = load_result(store.get(doc.result_keys["pkl"]).body)
    measured = [part for part, (_, angle) in PARTS.items() if part in ALWAYS or not np.isnan(result.angles[angle]).all()]
    assert list(result.summary.time_in_band) == measured
    assert {"lower_arm_left", "lower_arm_right"} <= set(measured)
    for part, bands in result.summary.time_in_band.items():
        assert "normal" in bands and sum(v.share for v in bands.values()) == pytest.approx(1.0, abs=1e-3), part
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(store.get(doc.result_keys["pdf"]).body)).pages)
    section = text[text.index("Time in each posture band"):]
    assert all(part.replace("_", " ") in section for part in measured)
    sheet = load_workbook(io.BytesIO(store.get(doc.result_keys["xlsx"]).body))["Summary"]
    first = [row[0].value for row in sheet.iter_rows()]
    title = first.index("Time in band (seconds / share)")
    assert first[title + 1:title + 1 + len(measured)] == measured


def test_the_workbook_shows_the_verdict_and_no_level_when_not_assessable(evidence, tmp_path):
    from openpyxl import load_workbook

    from pipeline.results import frame_rows, write_results

    result, _ = evidence
    for verdict, levels in ((PARTLY, True), (NOT_ASSESSABLE, False)):
        folder = tmp_path / verdict["status"].replace(" ", "_")
        write_results(with_verdict(result, verdict), folder)
        rows = [[cell.value for cell in row] for row in load_workbook(folder / "report.xlsx")["Summary"].iter_rows()]
        assert rows[1][:2] == ["Verdict", verdict["status"]] and rows[2][:2] == ["Why", verdict["reasons"][0]]
        assert ["What to do", verdict["advice"][0]] in [row[:2] for row in rows]
        assert any(row[0] == "Share of scored time" or (len(row) > 4 and row[4] == "Share of scored time") for row in rows) is levels
    assert frame_rows(result)[0][:5] == ["frame_index", "time_s", "person_detected", "rejected_because", "out_of_view"]
