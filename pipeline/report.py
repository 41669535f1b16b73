"""The PDF report a safety engineer can read, keep and sign.

Written with fpdf2: pure Python (no system libraries, unlike WeasyPrint's Pango and Cairo), small, and it draws
tables, vector charts and JPEGs itself, in the project's typeface (:mod:`pipeline.fonts`).  Every page carries the
job, the video's file name, the date and "page n of N".  The first page is read in half a minute:
- under the title, the task record's station, task, department and assessor (:mod:`pipeline.task_record`), where given;
- the verdict, where the result carries one, with its reasons and what to do (a job that is *not assessable* gets
  this first page only: the verdict, what the analysis found and the job; no score, no level, no signature);
- the RULA and REBA headline scores with their levels, and what they stand on (frames scored exactly, as a range,
  not at all);
- the three worst moments, with their pictures;
- the job, the video, the quality preset and the pose model, and the task record's notes.
Then, each section kept on one page with its heading: what to change (per body part that drives the result, from
the repository's sourced table, :mod:`pipeline.advice`), the risk timeline and each body part's timeline (vectors,
with a time axis), the time at each level, the posture pictures, time in each band and the sustained postures,
what was measured and what was assumed (in words), the methods' references, and the assessor's signature.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from .advice import PART_WORDS, RULE, SOURCES
from .assessment import AssessmentParams
from .ergonomics import BODY_PART_MAXIMA, level_labels, reba_risk_level, rula_action_level
from .evidence import shade
from .fonts import BOLD, FAMILY, REGULAR
from .result_model import AnalysisResult, CameraTiltRecord, Inputs, MethodSummary, Picture, ScoreColumns, Summary
from .summary import ASSESSABLE, NOT_ASSESSABLE, PARTLY_ASSESSABLE, shows_findings
from .task_record import LABELS, TaskRecord
from .viewpoint import viewpoint_words

REFERENCES = (SOURCES["rula"][1], SOURCES["reba"][1])
#: Each verdict's colour (green, amber, red as the levels').
VERDICT_COLOURS = {ASSESSABLE: (46, 125, 50), PARTLY_ASSESSABLE: (158, 124, 0), NOT_ASSESSABLE: (179, 38, 30)}
LEVEL_COLOURS = {"rula": {1: (46, 125, 50), 2: (158, 124, 0), 3: (211, 84, 0), 4: (179, 38, 30)},
                 "reba": {0: (93, 138, 168), 1: (46, 125, 50), 2: (158, 124, 0), 3: (211, 84, 0), 4: (179, 38, 30)}}
GREY = (236, 239, 241)
WHITE = (255, 255, 255)
INK = (33, 33, 33)
#: Each task detail (:class:`pipeline.assessment.AssessmentParams`) in words, with the unit of its value.
INPUT_WORDS = {
    "wrist_flexion": ("Wrist flexion (+) or extension (-), where the video cannot show it", "°"),
    "wrist_deviated": ("Wrist bent to the side", ""),
    "wrist_twist_end_of_range": ("Wrist twisted near the end of its range", ""),
    "neck_twisted": ("Neck twisted", ""),
    "neck_side_bent": ("Neck bent to the side, where the video cannot show it", ""),
    "trunk_twisted": ("Trunk twisted", ""),
    "trunk_side_bent": ("Trunk bent to the side, where the video cannot show it", ""),
    "shoulder_raised": ("Shoulder raised", ""),
    "arm_abducted": ("Upper arm out to the side", ""),
    "arm_supported": ("Arm supported, or the worker leaning on it", ""),
    "across_midline": ("Lower arm working across the midline or out to the side", ""),
    "legs_supported": ("Legs supported and balanced", ""),
    "sitting": ("The worker sits", ""),
    "unilateral_stance": ("Weight on one leg, or an unstable posture", ""),
    "load_kg": ("Load handled", " kg"),
    "shock": ("Shock or rapid build-up of force", ""),
    "rula_force_load": ("RULA force or load score (0 to 3)", ""),
    "muscle_use": ("Posture mainly static, or repeated more than 4 times a minute (RULA)", ""),
    "coupling": ("REBA coupling (0 good, 1 fair, 2 poor, 3 unacceptable)", ""),
    "static_posture": ("A body part held still for more than a minute (REBA)", ""),
    "repeated_actions": ("Small actions repeated more than 4 times a minute (REBA)", ""),
    "rapid_changes": ("Rapid large changes in posture, or an unstable base (REBA)", ""),
    "neutral_tolerance": ("Angles counted as neutral within", "°"),
    "side_bend_threshold": ("A measured side bend counts from", "°"),
    "abduction_threshold": ("A measured upper arm counts as out to the side from", "°"),
    "assumed_knee_flexion": ("Knee bend where the knees cannot be seen", "°"),
    "camera_pitch": ("Camera tilted down (+) or up (-), as given with the job", "°"),
    "camera_roll": ("Camera rolled anticlockwise (+) or clockwise (-), as given with the job", "°"),
}
#: Time axis steps (seconds) a timeline picks from: the smallest that leaves at most ten ticks.
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
#: How many worst moments the first page shows, and how tall their pictures may be (mm).
FIRST_PAGE_MOMENTS = 3
THUMBNAIL_HEIGHT = 60.0
#: How tall a posture picture may be (mm): two rows of a portrait video's on a page.
PICTURE_HEIGHT = 105.0


def input_words(assumed: AssessmentParams) -> list[tuple[str, str]]:
    """The job's task details as (words, value) for a reader: "Load handled", "0 kg"; "Legs supported...", "yes"."""
    rows = []
    for name, value in assumed.model_dump().items():
        label, unit = INPUT_WORDS.get(name, (name.replace("_", " ").capitalize(), ""))
        if value is None:
            rows.append((label, "not given"))
        else:
            rows.append((label, ("yes" if value else "no") if isinstance(value, bool) else f"{value:g}{unit}"))
    return rows


def vertical_words(tilt: CameraTiltRecord | None) -> str:
    """Which vertical trunk and neck were measured against, and how the camera's angle was known (``inputs.camera_tilt``)."""
    if tilt is None:
        return "Vertical: the image's up (the pose model gives no 3D points to level by the camera's angle)."
    if tilt.method == "none":
        return (f"Vertical: the camera's own up. Its angle could not be estimated (straight legs in {tilt.frames} frames, too few), "
                "so a tilted camera tilts the trunk and neck angles with it; give the camera's angle with the job to correct them. "
                f"The trunk's scores are ranged over {tilt.uncertainty:.0f}° either way.")
    angle = (f"tilted {'down' if tilt.pitch >= 0 else 'up'} {abs(tilt.pitch):.0f}°, "
             f"rolled {abs(tilt.roll):.0f}° {'anticlockwise' if tilt.roll >= 0 else 'clockwise'}")
    if tilt.method == "given":
        return f"Vertical: gravity's, from the camera angle given with the job ({angle})."
    if tilt.method == "scene":
        return f"Vertical: gravity's, from the camera angle estimated from {tilt.lines} upright edges in the scene ({angle})."
    if tilt.method == "scene+stance":
        return (f"Vertical: gravity's, from the camera angle estimated from {tilt.lines} upright edges in the scene and the "
                f"worker's stance ({angle}; the roll from the edges, the tilt down from both).")
    ranged = f" The trunk's scores are ranged over {tilt.uncertainty:.0f}° either way." if tilt.uncertainty else ""
    return (f"Vertical: gravity's, from the camera angle estimated from the worker's stance ({angle}): {tilt.frames} frames "
            f"with straight legs, within {tilt.spread:.0f}° of each other; confidence {tilt.confidence}.{ranged}")


def clock(seconds: float, decimals: int = 0) -> str:
    """m:ss (or m:ss.s) of a time in the video, as the pictures' captions write it."""
    width = 3 + decimals if decimals else 2
    return f"{int(seconds // 60)}:{seconds % 60:0{width}.{decimals}f}"


def score_level(method: str, score: int) -> int:
    return rula_action_level(score) if method == "rula" else reba_risk_level(score)


class Layout:
    """The report's pages: fpdf2 with the running footer, and the few ways the report writes (headings kept with
    what follows them, tables, paragraphs); the comparison of two jobs (:mod:`.comparison_report`) writes with it too."""

    def __init__(self, title: str, footer: str):
        from fpdf import FPDF

        class Pages(FPDF):
            def footer(self) -> None:
                self.set_y(-12)
                self.set_font(FAMILY, "", 7.5)
                self.set_text_color(97, 97, 97)
                self.cell(self.w - self.l_margin - self.r_margin - 25, 5, footer)
                self.cell(25, 5, f"page {self.page_no()} of {{nb}}", align="R")
                self.set_text_color(*INK)

        self.pdf = pdf = Pages(format="A4")
        pdf.add_font(FAMILY, "", str(REGULAR))
        pdf.add_font(FAMILY, "B", str(BOLD))
        pdf.set_auto_page_break(True, margin=18)
        pdf.set_title(title)
        pdf.set_text_color(*INK)
        pdf.add_page()
        self.width = pdf.w - pdf.l_margin - pdf.r_margin

    def room(self, height: float) -> None:
        """A new page unless ``height`` mm fit on this one: what follows stays together."""
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def font(self, size: float = 10, bold: bool = False) -> None:
        self.pdf.set_font(FAMILY, "B" if bold else "", size)

    def heading(self, words: str, keep: float = 20, size: int = 13) -> None:
        """A heading, on the page of the first ``keep`` mm of its section."""
        self.room(12 + keep)
        self.pdf.ln(3)
        self.font(size, bold=True)
        self.pdf.multi_cell(self.width, 7, words, new_x="LMARGIN", new_y="NEXT")
        self.font()

    def line(self, words: str, size: float = 10, height: float = 5) -> None:
        self.font(size)
        self.pdf.multi_cell(self.width, height, words, new_x="LMARGIN", new_y="NEXT")
        self.font()

    def level_box(self, x: float, top: float, size: tuple[float, float], method: str, level: int | None, title: str,
                  score: str) -> None:
        """A headline score: a box (``size``: width, height) with a bar down its left side in the level's colour (grey
        without one), ``title`` at its top and ``score`` large under it; the words beside the score follow it."""
        pdf, (width, height) = self.pdf, size
        with pdf.local_context(fill_color=LEVEL_COLOURS[method][level] if level is not None else GREY):
            pdf.rect(x, top, 4, height, style="F")
        with pdf.local_context(draw_color=GREY):
            pdf.rect(x, top, width, height)
        pdf.set_xy(x + 7, top + 2)
        self.font(10, bold=True)
        pdf.cell(width - 9, 5, title)
        pdf.set_xy(x + 7, top + 7)
        self.font(20, bold=True)
        pdf.cell(14, 10, score)

    def lines_needed(self, words: str, width: float, height: float) -> float:
        return height * len(self.pdf.multi_cell(width, height, words, dry_run=True, output="LINES"))

    def table(self, rows: list[list], widths: list[float], heading: str | None = None, header_row: bool = True) -> None:
        """A table on white cells (whatever fill colour came before), with a grey header row unless it is a list of
        (name, value); its heading and first rows on one page."""
        from fpdf.fonts import FontFace

        if heading:
            self.heading(heading, keep=6 * min(len(rows), 4))
        else:
            self.room(6 * min(len(rows), 4))
        self.font(9)
        with self.pdf.table(col_widths=widths, text_align="LEFT", line_height=5.5, width=self.width,
                            headings_style=FontFace(emphasis="BOLD", fill_color=GREY), cell_fill_color=WHITE,
                            cell_fill_mode="ALL", first_row_as_headings=header_row) as grid:
            for row in rows:
                cells = grid.row()
                for value in row:
                    cells.cell(str(value))
        self.font()


def analysed_date(created_at: str) -> str:
    """A job's ISO time as the reports print it: minutes, in UTC (the report and the comparison write it alike)."""
    return created_at.replace("T", " ")[:16] + " UTC"


def write_report(result: AnalysisResult, path: str | Path, pictures: list[tuple[Path, Picture]] = (),
                 record: TaskRecord | None = None) -> Path:
    """Write the report; ``pictures`` are (JPEG path, its record from :func:`pipeline.evidence.write_pictures`);
    ``record``: the job's station, task, assessor and notes, on the first page beside the job."""
    video = result.video.name
    page = Layout(f"Ergonomic risk assessment: {video}", f"Job {result.job_id or '-'}  ·  {video}  ·  analysed {analysed_date(result.created_at)}")
    _first_page(page, result, pictures, record or TaskRecord())
    if not shows_findings(result.summary):  # no finding to show, nothing to sign
        page.pdf.output(str(path))
        return Path(path)
    if page.pdf.page_no() == 1:  # the rest after the first page; where that ran over (warnings, reasons), after its end
        page.pdf.add_page()
    _what_to_change(page, result.summary)
    page.heading("Risk over time", keep=_timelines(page, result, dry_run=True))
    _timelines(page, result)
    for method in ("rula", "reba"):
        _levels(page, result, method)
    if pictures:
        _pictures(page, pictures)
    _bands(page, result.summary)
    _inputs(page, result.inputs)
    page.heading("Methods", keep=15)
    for reference in REFERENCES:
        page.line(reference)
    _signature(page)
    page.pdf.output(str(path))
    return Path(path)


def _first_page(page: Layout, result: AnalysisResult, pictures, record: TaskRecord) -> None:
    """What an engineer reads first: the verdict, the headline scores, what they stand on, the worst moments, and the
    task record and the job."""
    summary, video, model, preset = result.summary, result.video, result.model, result.preset
    page.font(18, bold=True)
    page.pdf.multi_cell(page.width, 9, "Ergonomic risk assessment", new_x="LMARGIN", new_y="NEXT")
    page.line(f"{video.name}  ·  RULA and REBA from video", size=11, height=6)
    identity = [(label, value) for label, value in record.rows() if label != LABELS["notes"]]
    if identity:  # which station and task, and who assessed it: under the title (the notes go with the job's table)
        page.line("  ·  ".join(f"{label}: {value}" for label, value in identity), size=10, height=5)
    page.pdf.ln(2)
    _verdict(page, summary)
    for warning in [model.warning, *summary.warnings]:
        if warning:
            page.font(10, bold=True)
            page.pdf.set_text_color(*LEVEL_COLOURS["rula"][4])
            page.pdf.multi_cell(page.width, 5, f"Warning: {warning}", new_x="LMARGIN", new_y="NEXT")
            page.pdf.set_text_color(*INK)
            page.font()
    if shows_findings(summary):
        _headline(page, summary)
    page.heading("What the scores stand on" if shows_findings(summary) else "What the analysis found", keep=15, size=11)
    page.line(_standing(result))
    if shows_findings(summary):
        _worst_moments(page, result, pictures)
    notes = [["Notes", record.notes]] if record.notes else []
    page.table([["Video file", video.name], ["Job", result.job_id or "-"],
                ["Analysed", analysed_date(result.created_at)],
                ["Video", f"{video.duration:.1f} s, {video.width} x {video.height}"],
                *([["Part analysed", span]] if (span := result.analysed_span()) else []),
                ["Quality preset", f"{preset.name}: {preset.description}"],
                ["Pose model", f"{model.name} ({model.weights or ''})"], *notes], [1, 3], heading="The job", header_row=False)


def _verdict(page: Layout, summary: Summary) -> None:
    """The verdict (can this video be assessed, and why not fully), first thing on the first page, with its reasons
    and what to do."""
    verdict = summary.verdict
    colour = VERDICT_COLOURS.get(verdict.status, INK)
    page.pdf.set_text_color(*colour)
    page.heading(f"Verdict: {verdict.status}", keep=0, size=13)
    page.pdf.set_text_color(*INK)
    for reason in verdict.reasons:
        page.line(f"•  {reason}")
    for advice in verdict.advice:
        page.line(f"What to do: {advice}")
    if not shows_findings(summary):
        page.line("No RULA or REBA figure is given: nothing in this video can be assessed, and this report is not an "
                  "assessment to sign.", size=10)
    page.pdf.ln(2)


def _what_to_change(page: Layout, summary: Summary) -> None:
    """For each body part that drives the result, why and what to change (the repository's sourced table,
    :mod:`pipeline.advice`), its sources in small print."""
    page.heading("What to change", keep=25)
    page.line(RULE, size=8, height=4)
    page.pdf.ln(1)
    if not summary.what_to_change:
        page.line("No body part was in a raised band often enough to drive the result.")
    for finding in summary.what_to_change:
        # (words, size, line height, bold): the part, why, what to change, the sources in small print
        rows = [(PART_WORDS.get(finding.part, finding.part), 10, 5, True), (finding.why, 9, 4.5, False),
                (f"What to change: {finding.recommendation}", 10, 5, False),
                ("Sources: " + " ".join(source.citation for source in finding.sources), 7.5, 3.5, False)]  # each ends with "."
        page.room(sum(_height(page, words, size, height, bold) for words, size, height, bold in rows))  # one finding on one page
        for (words, size, height, bold), colour in zip(rows, (INK, INK, INK, (97, 97, 97)), strict=True):
            page.font(size, bold)
            page.pdf.set_text_color(*colour)
            page.pdf.multi_cell(page.width, height, words, new_x="LMARGIN", new_y="NEXT")
        page.pdf.set_text_color(*INK)
        page.font()
        page.pdf.ln(1.5)


def _height(page: Layout, words: str, size: float, height: float, bold: bool) -> float:
    page.font(size, bold)
    return page.lines_needed(words, page.width, height)


def _headline(page: Layout, summary: Summary) -> None:
    """RULA and REBA side by side: the highest score in its level's colour, the level's meaning, the mean."""
    pdf, gap, height = page.pdf, 6.0, 27.0
    box = (page.width - gap) / 2
    page.room(height + 4)
    top = pdf.get_y() + 2
    for column, method in enumerate(("rula", "reba")):
        block: MethodSummary = getattr(summary, method)
        x, highest = pdf.l_margin + column * (box + gap), block.max
        level = None if highest is None else score_level(method, highest)
        ceiling = block.ranged_max if highest is None else None  # only ranges: the most they reach
        page.level_box(x, top, (box, height), method, level, f"{method.upper()}: highest score",
                       str(highest) if highest is not None else "–" if ceiling is None else f"≤{ceiling}")
        kind = "action" if method == "rula" else "risk"
        page.font(10)
        pdf.multi_cell(box - 23, 5, f"{kind} level {level}: {level_labels(method)[level]}" if level is not None else "not scored"
                       if ceiling is None else f"no frame scored exactly; at most {kind} level {score_level(method, ceiling)}")
        pdf.set_xy(x + 7, top + 18)
        mean = "–" if block.mean is None else f"{block.mean:.1f}"
        ranged = f"; {block.ranged_frames} more as a range, up to {block.ranged_max}" if block.ranged_frames else ""
        held = "" if level is None else f"; {block.levels[str(level)].share:.0%} of their time at level {level}"
        page.font(8.5)
        pdf.multi_cell(box - 9, 4, f"mean {mean} over {block.scored_frames} exactly scored frames{held}{ranged}")
    pdf.set_xy(pdf.l_margin, top + height + 2)
    page.font()


def _standing(result: AnalysisResult) -> str:
    summary = result.summary
    analysed = max(summary.frames_analysed, 1)

    def share(count: int) -> str:
        return f"{100 * count / analysed:.0f}%"

    rejected = summary.frames_rejected
    span = result.analysed_span()
    over = f"; {span}" if span else f" over {result.video.duration:.1f} s"
    return (f"{summary.frames_analysed} frames analysed ({result.preset.sample_fps:g} a second{over}), "
            f"the worker in {summary.frames_with_person}"
            f"{f' ({rejected} more rejected as not a person)' if rejected else ''}: "
            f"{summary.frames_scored} scored exactly ({share(summary.frames_scored)}), "
            f"{summary.frames_ranged} as a range because a body part was out of sight ({share(summary.frames_ranged)}), "
            f"{summary.frames_unscored} not scored ({share(summary.frames_unscored)})."
            + (" Every figure comes from frames with the worker only; shares of time at each level are of the exactly scored "
               "frames." if shows_findings(summary) else ""))


def _frame_scores(result: AnalysisResult, time_s: float) -> tuple[int, str, str]:
    """(position, RULA score, REBA score) of the analysed frame at ``time_s``, a range where a part was unseen."""
    position = int(np.argmin(np.abs(result.timestamps - time_s)))

    def words(block: ScoreColumns, exact: str, low: str, high: str) -> str:
        value, lo, hi = (float(getattr(block, k)[position]) for k in (exact, low, high))
        if not math.isnan(value):
            return str(int(value))
        return "–" if math.isnan(lo) else f"{int(lo)}-{int(hi)}"

    return (position, words(result.rula, "grand_score", "grand_score_min", "grand_score_max"),
            words(result.reba, "reba_score", "reba_score_min", "reba_score_max"))


def _worst(result: AnalysisResult, pictures) -> list[tuple[Path | None, float]]:
    """The worst moments, worst first: the pictured ones where there are pictures, each RULA and REBA score as a
    share of the method's highest, added."""
    times = {m.time_s for block in (result.summary.rula, result.summary.reba) for m in block.worst_moments}
    pictured = {record.time_s: image for image, record in pictures}
    chosen = [t for t in times if t in pictured] or sorted(times)

    def badness(time_s: float) -> float:
        _, rula, reba = _frame_scores(result, time_s)
        return sum(float(s.split("-")[-1]) / top for s, top in ((rula, 7), (reba, 15)) if s != "–")

    chosen = sorted(chosen, key=lambda t: (-badness(t), t))[:FIRST_PAGE_MOMENTS]
    return [(pictured.get(t), t) for t in chosen]


def _worst_moments(page: Layout, result: AnalysisResult, pictures) -> None:
    """The three worst moments side by side, each a picture with its time and scores under it."""
    worst = _worst(result, pictures)
    if worst:
        cells = [(image, "{}   RULA {}   REBA {}".format(clock(time_s, 1), *_frame_scores(result, time_s)[1:]))
                 for image, time_s in worst]
        _picture_row(page, cells, FIRST_PAGE_MOMENTS, THUMBNAIL_HEIGHT, heading=("The worst moments", 11))


def _picture_row(page: Layout, cells: list[tuple[Path | None, str]], columns: int, highest: float,
                 heading: tuple[str, int] | None = None) -> None:
    """Pictures side by side (``columns`` to a page's width, at most ``highest`` mm tall: a portrait video's too),
    each caption under its own picture, the row and ``heading`` (words, size) on one page."""
    from PIL import Image

    pdf, gap, line = page.pdf, 5.0, 4.2
    box = (page.width - gap * (columns - 1)) / columns
    sizes = []
    for image, _ in cells:
        if image is None:
            sizes.append((0.0, 0.0))
            continue
        with Image.open(image) as picture:
            ratio = picture.height / picture.width
        sizes.append((box, box * ratio) if box * ratio <= highest else (highest / ratio, highest))
    tallest = max(height for _, height in sizes)
    page.font(8.5)
    needed = tallest + max(page.lines_needed(words, box, line) for _, words in cells) + 5
    if heading:
        page.heading(heading[0], keep=needed, size=heading[1])
    page.room(needed)
    top = pdf.get_y() + 1
    for column, ((image, words), (width, _)) in enumerate(zip(cells, sizes, strict=True)):
        x = pdf.l_margin + column * (box + gap)
        if image is not None:
            pdf.image(str(image), x=x + (box - width) / 2, y=top, w=width)
        pdf.set_xy(x, top + tallest + 1)
        page.font(8.5)
        pdf.multi_cell(box, line, words)
    pdf.set_xy(pdf.l_margin, top + needed)
    page.font()


def _levels(page: Layout, result: AnalysisResult, method: str) -> None:
    block: MethodSummary = getattr(result.summary, method)
    mean = "–" if block.mean is None else f"{block.mean:.1f}"
    highest = "–" if block.max is None else block.max
    rows = [["Level", "Meaning", "Frames", "Seconds", "Share"]] + [
        [level, row.label, row.frames, f"{row.seconds:.1f}", f"{100 * row.share:.0f}%"] for level, row in block.levels.items()]
    page.table(rows, [1, 4, 1.3, 1.3, 1.2], heading=f"{method.upper()}: time at each level (highest {highest}, mean {mean})")
    if block.ranged_frames:
        page.line(f"{block.ranged_frames} more frames scored as a range, up to {block.ranged_max}.", size=9)
    moments = ", ".join(f"{clock(m.time_s, 1)} (score {m.score})" for m in block.worst_moments) or "none"
    page.line(f"Worst moments: {moments}.", size=9)


def _pictures(page: Layout, pictures) -> None:
    """The posture pictures two to a row, the first row with the section's heading."""
    blurred = all(record.face_blurred for _, record in pictures)
    heading = ("Posture pictures (faces blurred)" if blurred else "Posture pictures", 13)
    for start in range(0, len(pictures), 2):
        cells = [(image, f"{clock(record.time_s, 1)}: " + "; ".join(record.reasons) + ".")
                 for image, record in pictures[start:start + 2]]
        _picture_row(page, cells, 2, PICTURE_HEIGHT, heading=None if start else heading)


#: The parts of the bands table's right half; the trunk, the neck and the legs fill the left one.
ARM_PARTS = ("upper_arm", "lower_arm", "wrist")


def _bands(page: Layout, summary: Summary) -> None:
    """Time in each band, every body part's, in two halves side by side (the arms on the right) to keep the table on
    about half a page; each row names its part, since the table may run on to the next page."""
    halves: tuple[list[list[str]], list[list[str]]] = ([], [])
    for part, bands in summary.time_in_band.items():
        halves[part.startswith(ARM_PARTS)].extend([part.replace("_", " "), band, f"{v.seconds:.1f}", f"{100 * v.share:.0f}%"]
                                                  for band, v in bands.items())
    rows = [left + right for left, right in itertools.zip_longest(*halves, fillvalue=[""] * 4)]
    page.table([["Body part", "Band", "Seconds", "Share"] * 2, *rows], [2.2, 2.6, 1.4, 1] * 2, heading="Time in each posture band")
    held = summary.held_postures()
    title = "Sustained postures outside the normal band (4 s or longer)"
    if held:
        page.table([["Body part", "Band", "From", "For (s)"]]
                   + [[r.part.replace("_", " "), r.band, clock(r.start_s, 1), f"{r.duration_s:.1f}"] for r in held],
                   [2, 2, 1, 1], heading=title)
    else:
        page.heading(title, keep=6, size=11)
        page.line("None.")


def _inputs(page: Layout, inputs: Inputs) -> None:
    page.heading("Measured and assumed", keep=40)
    page.line("Measured from the video: " + ", ".join(name.replace("_", " ") for name in inputs.measured) + ".")
    page.line(vertical_words(inputs.camera_tilt))
    if (viewpoint := viewpoint_words(inputs.viewpoint)) is not None:
        page.line(f"Viewpoint: {viewpoint}")
    page.pdf.ln(2)
    page.table([["Assumed (the job's task details)", "Value"], *map(list, input_words(inputs.assumed))], [4, 1])


def _signature(page: Layout) -> None:
    page.heading("Assessment", keep=45)
    for label in ("Assessor's name", "Signature", "Date"):
        page.pdf.ln(6)
        page.pdf.cell(45, 8, f"{label}:")
        page.pdf.cell(0, 8, "_" * 60, new_x="LMARGIN", new_y="NEXT")


def _ticks(duration: float) -> list[float]:
    step = next((s for s in TICK_STEPS if duration / s <= 10), TICK_STEPS[-1])
    return [float(t) for t in np.arange(0, duration + 1e-9, step)]


def _timelines(page: Layout, result: AnalysisResult, *, dry_run: bool = False) -> float:
    """The RULA and REBA strips coloured by level, then each body part's strip coloured by its score, each group
    over a time axis: vector drawing, each label on the page of its strip.  Returns the height it takes (mm)."""
    times = result.timestamps
    parts = [(method, part, highest) for method, maxima in BODY_PART_MAXIMA.items() for part, highest in maxima.items()]
    strip, row, axis, legend = 5.0, 6.5, 7.0, 9.0
    height = row * (2 + len(parts)) + 2 * axis + 2 + legend
    if dry_run or not len(times):
        return height if len(times) else 0.0
    pdf = page.pdf
    step = float(times[1] - times[0]) if len(times) > 1 else 1.0
    duration = float(times[-1]) + step
    label_width = 34.0
    x0, span = pdf.l_margin + label_width, page.width - label_width
    page.room(height)

    def strip_row(label: str, colours: list[tuple[int, int, int] | None]) -> None:
        y = pdf.get_y()
        page.font(8)
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_width, strip, label)
        with pdf.local_context(fill_color=GREY):
            pdf.rect(x0, y, span, strip, style="F")
        # one rectangle per run of frames in one colour: a long video's strip is a few hundred shapes, not one a frame;
        # the strip's colours within one saved graphics state, not one each (a 10-minute video's report drew 6000)
        with pdf.local_context():
            for colour, run in itertools.groupby(zip(times, colours, strict=True), key=lambda frame: frame[1]):
                if colour is not None:
                    run_times = [t for t, _ in run]
                    start, width = run_times[0], run_times[-1] - run_times[0] + step
                    pdf.set_fill_color(*colour)
                    pdf.rect(x0 + span * start / duration, y, max(0.2, span * width / duration), strip, style="F")
        pdf.set_y(y + row)

    def time_axis() -> None:
        y = pdf.get_y() - row + strip + 0.5
        page.font(7)
        with pdf.local_context(draw_color=(97, 97, 97), line_width=0.2):
            pdf.line(x0, y, x0 + span, y)
            for tick in _ticks(duration):
                x = x0 + span * tick / duration
                pdf.line(x, y, x, y + 1.5)
                pdf.set_xy(x - 6, y + 1.5)
                pdf.cell(12, 3.5, clock(tick), align="C")
        pdf.set_y(y + axis)

    for method, levels in (("rula", result.rula.action_level), ("reba", result.reba.risk_level)):  # each frame's level, as scored
        strip_row(f"{method.upper()} level", [None if math.isnan(v) else LEVEL_COLOURS[method][int(v)] for v in levels])
    time_axis()
    for method, part, highest in parts:
        scores = getattr(result, method).columns()[part]
        strip_row(f"{method.upper()} {part.replace('_', ' ')}", [shade(float(s), highest) for s in scores])
    time_axis()
    page.line(f"Time in the video (m:ss), 0:00 to {clock(duration, 1)}. Levels: green low to red high; body parts: their "
              "score as a quarter of the highest the worksheet gives the part; grey: not scored.", size=8, height=4)
    return height
