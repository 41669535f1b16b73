"""The comparison PDF: two of one's analyses, before and after, on one or two pages (issue 28, item 5).

Drawn with the report's own machinery (:mod:`.report`: its pages, footer, tables, level colours and references), so
that the two read alike: the two jobs side by side (video, job, date, task record, preset, verdict), each method's
highest score before and after in its level's colour with the difference in words, the task details given
differently, what makes the two hard to compare, the time each body part spent in each band before and after with
the difference, the verdicts' reasons, and the methods' sources.  A job that is not assessable shows no score here
either (:mod:`.comparison`).
"""

from __future__ import annotations

from pathlib import Path

from .comparison import BandRow, Comparison, JobSide, Score, headline_words
from .report import INK, REFERENCES, VERDICT_COLOURS, Layout, analysed_date

TITLE = "Before and after: ergonomic risk comparison"
#: How differences read: one rule for the page, the PDF and the command line.
DIFFERENCE_RULE = ("Differences are after − before: below zero, a lower score or less of the time in that band. Shares are of "
                   "the frames each body part was measured in, so videos of different lengths compare.")


def write_comparison_report(comparison: Comparison, path: str | Path) -> Path:
    """Write the comparison's PDF to ``path``."""
    before, after = comparison.before, comparison.after
    page = Layout(f"{TITLE}: {before.video} and {after.video}",
                   f"Comparison  ·  before: job {before.job_id or '-'}  ·  after: job {after.job_id or '-'}")
    page.font(16, bold=True)
    page.pdf.multi_cell(page.width, 8, TITLE, new_x="LMARGIN", new_y="NEXT")
    page.pdf.ln(1)
    _jobs(page, before, after)
    _headlines(page, comparison)
    if comparison.input_changes:
        page.table([["Task detail given differently", "Before", "After"],
                    *[[change.label, change.before, change.after] for change in comparison.input_changes]], [4, 1.2, 1.2])
    for caveat in comparison.caveats:
        page.line(f"Note: {caveat}", size=9, height=4.5)
    _bands(page, comparison.bands)
    _verdicts(page, before, after)
    page.heading("Method and sources", keep=15, size=11)
    page.line(DIFFERENCE_RULE, size=8.5, height=4)
    for reference in REFERENCES:
        page.line(reference, size=8.5, height=4)
    page.pdf.output(str(path))
    return Path(path)


def _jobs(page: Layout, before: JobSide, after: JobSide) -> None:
    """The two jobs side by side: what, when, where, and how far each can be trusted."""
    rows = [["", "Before", "After"]]
    for label, read in (("Video", lambda s: s.video), ("Job", lambda s: s.job_id or "-"),
                        ("Analysed", lambda s: analysed_date(s.analysed_at)), ("Station", lambda s: s.record.station),
                        ("Task", lambda s: s.record.task), ("Department", lambda s: s.record.department),
                        ("Assessor", lambda s: s.record.assessor), ("Notes", lambda s: s.record.notes),
                        ("Quality preset", lambda s: f"{s.preset} ({s.sample_fps:g} frames a second)"),
                        ("Part analysed", lambda s: s.span or f"all {s.duration_s:.1f} s of the video"),
                        ("Verdict", lambda s: s.verdict.status)):
        values = [read(before), read(after)]
        if any(values) or label in ("Station", "Task"):  # station and task always: an empty one is worth seeing
            rows.append([label, *(value or "–" for value in values)])
    page.table(rows, [1.3, 3, 3])


def _headlines(page: Layout, comparison: Comparison) -> None:
    """For each method, before and after side by side (the highest score in its level's colour, the level's meaning,
    the mean), and the difference in words under them."""
    page.heading("Headline scores", keep=70, size=12)
    for headline in comparison.headlines:
        pdf, gap, height = page.pdf, 6.0, 22.0
        box = (page.width - gap) / 2
        page.room(height + 12)
        top = pdf.get_y() + 1
        for column, (name, score) in enumerate((("Before", headline.before), ("After", headline.after))):
            _score_box(page, pdf.l_margin + column * (box + gap), top, box, height, headline.method, name, score)
        pdf.set_xy(pdf.l_margin, top + height + 1.5)
        page.line(headline_words(headline, arrow="to"), size=9.5, height=5)
        pdf.ln(2)


def _score_box(page: Layout, x: float, top: float, width: float, height: float, method: str, name: str,
               score: Score | None) -> None:
    level = score.level if score else None
    page.level_box(x, top, (width, height), method, level, f"{method.upper()} {name.lower()}: highest score",
                   "–" if score is None or score.max is None else str(score.max))
    page.font(9)
    words = ("not assessable: no score" if score is None else "not scored" if level is None
             else f"{'action' if method == 'rula' else 'risk'} level {level}: {score.level_label}")
    mean = "" if score is None or score.mean is None else f"; mean {score.mean:.1f}"
    page.pdf.multi_cell(width - 23, 4.5, words + mean)
    page.font()


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.0f}%"


def _bands(page: Layout, bands: list[BandRow]) -> None:
    """Time in each band, before and after, with the difference; bands with no time in either job are left out (said
    under the table), which keeps the comparison to two pages."""
    shown = [row for row in bands if (row.before_s or 0) > 0 or (row.after_s or 0) > 0]
    rows = [["Body part", "Band", "Before", "After", "Difference"]]
    for row in shown:
        difference = ("–" if row.difference_share is None or row.difference_s is None else "no change"
                      if row.difference_share == 0 else f"{100 * row.difference_share:+.0f} points ({row.difference_s:+.1f} s)")
        rows.append([row.part.replace("_", " "), row.band, _seconds(row.before_s, row.before_share),
                     _seconds(row.after_s, row.after_share), difference])
    page.table(rows, [1.8, 2.2, 1.5, 1.5, 2], heading="Time in each posture band")
    if len(shown) < len(bands):
        page.line("Bands with no time in either job are left out.", size=8.5, height=4)


def _seconds(seconds: float | None, share: float | None) -> str:
    return "–" if seconds is None else f"{_percent(share)} ({seconds:.1f} s)"


def _verdicts(page: Layout, before: JobSide, after: JobSide) -> None:
    page.heading("Verdicts", keep=20, size=12)
    for name, side in (("Before", before), ("After", after)):
        page.font(10, bold=True)
        page.pdf.set_text_color(*VERDICT_COLOURS.get(side.verdict.status, INK))
        page.pdf.multi_cell(page.width, 5, f"{name}: {side.verdict.status}", new_x="LMARGIN", new_y="NEXT")
        page.pdf.set_text_color(*INK)
        for reason in side.verdict.reasons:
            page.line(f"•  {reason}", size=9, height=4.5)
        for advice in side.verdict.advice:
            page.line(f"What to do: {advice}", size=9, height=4.5)
        page.pdf.ln(1)

