"""Before and after: two of one's analyses side by side (issue 28, item 5).

A safety engineer films a station, changes something (a lighter load, a higher bench) and films it again; what they
need is the two results set side by side in the words of the worksheets: "REBA max 9 → 5 (very high → medium)",
the time each body part spent in each band before and after, and what makes the two hard to compare (another
quality preset, an input measured in one and assumed in the other).  :func:`compare` is pure: two
:class:`~.result_model.ResultDocument` and their task records in, a :class:`Comparison` out, which the API returns
as JSON, the command line prints (:func:`comparison_lines`) and :mod:`.comparison_report` draws.

A job that is *not assessable* shows no score anywhere (:func:`.summary.shows_findings`), so here it shows none
either: its side of every figure is empty and no difference is given for it.  Differences are after − before:
a negative one is a lower risk, or less time in that band.
"""

from __future__ import annotations

from pydantic import Field

from .ergonomics import level_labels
from .report import input_words, score_level  # the task details in the report's words: one wording for both
from .result_model import Record, ResultDocument, Verdict
from .summary import PARTLY_ASSESSABLE, shows_findings
from .task_record import TaskRecord

METHODS = ("rula", "reba")
#: Parts analysed whose lengths differ by more than this share of the longer one: their seconds in a band do not compare.
LENGTHS_DIFFER = 0.1


class JobSide(Record):
    """One of the two jobs as the comparison names it."""

    job_id: str | None
    video: str
    analysed_at: str = Field(description="ISO-8601 UTC, the result's")
    preset: str
    sample_fps: float
    duration_s: float = Field(description="the video's length, seconds")
    analysed_s: float = Field(description="the length of the part analysed: the time range's, or the whole video's")
    span: str | None = Field(description='"analysed 12.0 s – 47.5 s of 2 min 10 s"; None when all of the video was')
    record: TaskRecord
    verdict: Verdict
    assessable: bool = Field(description="whether its figures may be shown (not when it is not assessable)")


class Score(Record):
    """A method's headline on one side: the highest score exactly scored, its level, the mean."""

    max: int | None
    level: int | None
    level_label: str | None
    mean: float | None


class Headline(Record):
    method: str
    before: Score | None = Field(description="None where that job is not assessable")
    after: Score | None
    max_difference: int | None = Field(description="after − before; None unless both have a highest score")
    mean_difference: float | None
    words: str


class BandRow(Record):
    """One band of one body part: its time before and after (None where a job is not assessable or never measured
    that part), and the difference."""

    part: str
    band: str
    before_s: float | None
    after_s: float | None
    before_share: float | None
    after_share: float | None
    difference_s: float | None
    difference_share: float | None = Field(description="after − before, of the frames the part was measured in")


class InputChange(Record):
    """A task detail given differently to the two jobs (the video cannot show it: the engineer said so)."""

    label: str
    before: str
    after: str


class Comparison(Record):
    before: JobSide
    after: JobSide
    headlines: list[Headline]
    bands: list[BandRow]
    input_changes: list[InputChange]
    caveats: list[str] = Field(description="what makes the two hard to compare, in words")


def compare(before: ResultDocument, after: ResultDocument, before_record: TaskRecord | None = None,
            after_record: TaskRecord | None = None) -> Comparison:
    """The two results side by side, differences after − before."""
    sides = (_side(before, before_record or TaskRecord()), _side(after, after_record or TaskRecord()))
    return Comparison(before=sides[0], after=sides[1],
                      headlines=[_headline(method, before, after, *sides) for method in METHODS],
                      bands=_bands(before, after, *sides), input_changes=_input_changes(before, after),
                      caveats=_caveats(before, after, *sides))


def _side(result: ResultDocument, record: TaskRecord) -> JobSide:
    span = result.time_range
    return JobSide(job_id=result.job_id, video=result.video.name, analysed_at=result.created_at, preset=result.preset.name,
                   sample_fps=result.preset.sample_fps, duration_s=result.video.duration,
                   analysed_s=round(span.end_s - span.start_s, 3) if span else result.video.duration,
                   span=result.analysed_span(), record=record,
                   verdict=result.summary.verdict, assessable=shows_findings(result.summary))


def _score(method: str, result: ResultDocument, side: JobSide) -> Score | None:
    if not side.assessable:
        return None
    block = getattr(result.summary, method)
    level = None if block.max is None else score_level(method, block.max)
    return Score(max=block.max, level=level, level_label=None if level is None else level_labels(method)[level], mean=block.mean)


def _difference(before: float | None, after: float | None, digits: int) -> float | None:
    return None if before is None or after is None else round(after - before, digits)


def _headline(method: str, before: ResultDocument, after: ResultDocument, first: JobSide, second: JobSide) -> Headline:
    scores = _score(method, before, first), _score(method, after, second)
    maxima = [score.max if score else None for score in scores]
    means = [score.mean if score else None for score in scores]
    change = _difference(*maxima, 0)
    headline = Headline(method=method, before=scores[0], after=scores[1], max_difference=None if change is None else int(change),
                        mean_difference=_difference(*means, 3), words="")
    headline.words = headline_words(headline)
    return headline


def _score_words(score: Score | None) -> tuple[str, str]:
    if score is None:
        return "not assessable", ""
    return ("–" if score.max is None else str(score.max)), score.level_label or "not scored"


def headline_words(headline: Headline, arrow: str = "→") -> str:
    """"REBA max 9 → 5 (very high → medium), 4 lower; mean 6.2 → 3.1": a side not assessable gets no difference.
    (``arrow``: the PDF's typeface has no arrow, and writes "to".)"""
    name, to = headline.method.upper(), f" {arrow} "
    (first, first_level), (second, second_level) = _score_words(headline.before), _score_words(headline.after)
    if headline.before is None or headline.after is None:
        return f"{name} max {first}{to}{second}: no difference is given (a job that is not assessable has no score)"
    change = headline.max_difference
    moved = ("" if change is None else ", unchanged" if change == 0
             else f", {abs(change)} {'lower' if change < 0 else 'higher'}")
    mean = to.join("–" if score.mean is None else f"{score.mean:.1f}" for score in (headline.before, headline.after))
    return f"{name} max {first}{to}{second} ({first_level}{to}{second_level}){moved}; mean {mean}"


def _bands(before: ResultDocument, after: ResultDocument, first: JobSide, second: JobSide) -> list[BandRow]:
    """Every body part and band either job reports, in the result's order (the before's, then the after's others)."""
    tables = [result.summary.time_in_band if side.assessable else {} for result, side in ((before, first), (after, second))]
    parts = list(dict.fromkeys([*before.summary.time_in_band, *after.summary.time_in_band]))
    rows = []
    for part in parts:
        bands = [*before.summary.time_in_band.get(part, {}), *after.summary.time_in_band.get(part, {})]
        for band in dict.fromkeys(bands):
            times = [table.get(part, {}).get(band) for table in tables]
            seconds = [None if t is None else t.seconds for t in times]
            shares = [None if t is None else t.share for t in times]
            rows.append(BandRow(part=part, band=band, before_s=seconds[0], after_s=seconds[1], before_share=shares[0],
                                after_share=shares[1], difference_s=_difference(*seconds, 3),
                                difference_share=_difference(*shares, 4)))
    return rows


def _input_changes(before: ResultDocument, after: ResultDocument) -> list[InputChange]:
    pairs = zip(input_words(before.inputs.assumed), input_words(after.inputs.assumed), strict=True)
    return [InputChange(label=label, before=first, after=second) for (label, first), (_, second) in pairs if first != second]


def _caveats(before: ResultDocument, after: ResultDocument, first: JobSide, second: JobSide) -> list[str]:
    caveats = []
    for name, side in (("before", first), ("after", second)):
        if not side.assessable:
            caveats.append(f"The {name} job is not assessable: it has no score, so no difference is given.")
        elif side.verdict.status == PARTLY_ASSESSABLE:
            caveats.append(f"The {name} job is only partly assessable: read its figures with its reasons in mind.")
    if (first.preset, first.sample_fps) != (second.preset, second.sample_fps):
        caveats.append(f"Analysed at different quality presets (before {first.preset}, {first.sample_fps:g} frames a second; "
                       f"after {second.preset}, {second.sample_fps:g}): the more frames a second, the likelier a short peak "
                       "is caught, so compare the highest scores with care.")
    if abs(first.analysed_s - second.analysed_s) > LENGTHS_DIFFER * max(first.analysed_s, second.analysed_s):
        caveats.append(f"The parts analysed are of different lengths ({first.analysed_s:.1f} s before, {second.analysed_s:.1f} s "
                       "after): compare the shares of time in each band, not the seconds.")
    measured = [set(result.inputs.measured) for result in (before, after)]
    if not (first.assessable and second.assessable):
        measured = [set(), set()]  # a job with no score has nothing measured to weigh against the other's
    for name, only, other in (("before", measured[0] - measured[1], "after"), ("after", measured[1] - measured[0], "before")):
        if only:
            words = ", ".join(sorted(item.replace("_", " ") for item in only))
            caveats.append(f"Measured from the video in the {name} job only, assumed from the task details in the {other} "
                           f"job: {words}.")
    models = [(result.model.name, result.model.weights) for result in (before, after)]
    if models[0] != models[1]:
        caveats.append(f"Analysed with different pose models (before {_model(models[0])}, after {_model(models[1])}).")
    return caveats


def _model(model: tuple[str, str | None]) -> str:
    return f"{model[0]} ({model[1]})" if model[1] else model[0]


def _percent_points(share: float) -> str:
    return f"{100 * share:+.0f} points"


def band_words(row: BandRow) -> str:
    """"neck moderate: 25% → 10% of the time (-15 points)"; a side without figures as "–"."""
    shares = " → ".join("–" if share is None else f"{100 * share:.0f}%" for share in (row.before_share, row.after_share))
    change = "" if row.difference_share is None else f" ({_percent_points(row.difference_share)})"
    return f"{row.part.replace('_', ' ')} {row.band}: {shares} of the time{change}"


def record_words(record: TaskRecord) -> str:
    """The task record in one line ("station Line 3 · task packing · ..."), or "" when it has none."""
    return " · ".join(f"{name} {value}" for name, value in record.model_dump().items() if value)


def comparison_lines(comparison: Comparison) -> list[str]:
    """The comparison in words, as the command line prints it: the jobs, the headlines, the task details that
    differ, the caveats, and the bands whose share of time changed."""
    lines = []
    for name, side in (("Before", comparison.before), ("After", comparison.after)):
        record = record_words(side.record)
        lines.append(f"{name}: {side.video}, job {side.job_id or '-'}, analysed {side.analysed_at}"
                     f"{f' · {record}' if record else ''} · {side.verdict.status}")
    lines += [headline.words for headline in comparison.headlines]
    lines += [f"Task detail changed: {change.label}: {change.before} → {change.after}" for change in comparison.input_changes]
    lines += [f"Note: {caveat}" for caveat in comparison.caveats]
    changed = [band_words(row) for row in comparison.bands if row.difference_share]
    if changed:
        lines.append("Time in band that changed:")
        lines += [f"  {words}" for words in changed]
    elif comparison.before.assessable and comparison.after.assessable:
        lines.append("Time in each band: no change.")
    return lines

