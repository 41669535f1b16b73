"""The PDF report a safety engineer can read, keep and sign.

Written with fpdf2: pure Python (no system libraries, unlike WeasyPrint's Pango and Cairo), small, and it draws
tables, vector charts and JPEGs itself.  The report holds:
- the job, the video's file name, the date, the quality preset and the pose model;
- what the scores stand on (frames scored exactly, as a range, not at all);
- the RULA and REBA summaries;
- the posture pictures;
- the risk timeline and each body part's timeline, drawn as vectors;
- time in each band and the sustained postures;
- what was measured and what was assumed, with the values;
- the methods' references;
- a field for the assessor's name and signature.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .ergonomics import BODY_PART_MAXIMA
from .evidence import shade

REFERENCES = (
    "McAtamney L., Corlett E.N. (1993). RULA: a survey method for the investigation of work-related upper limb "
    "disorders. Applied Ergonomics 24(2), 91-99.",
    "Hignett S., McAtamney L. (2000). Rapid Entire Body Assessment (REBA). Applied Ergonomics 31(2), 201-205.",
)
LEVEL_COLOURS = {"rula": {1: (46, 125, 50), 2: (158, 124, 0), 3: (211, 84, 0), 4: (179, 38, 30)},
                 "reba": {0: (93, 138, 168), 1: (46, 125, 50), 2: (158, 124, 0), 3: (211, 84, 0), 4: (179, 38, 30)}}
GREY = (236, 239, 241)


def _text(value: str) -> str:
    """fpdf2's core fonts speak Latin-1: keep the words, drop what they cannot print."""
    return value.replace("–", "-").replace("°", " deg").encode("latin-1", "replace").decode("latin-1")


def write_report(result: dict, path: str | Path, pictures: list[tuple[Path, dict]] = ()) -> Path:
    """Write the report; ``pictures`` are (JPEG path, its record from :func:`pipeline.evidence.write_pictures`)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_text(f"Ergonomic risk assessment: {result['video'].get('name', '')}"))
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(words: str, size: int = 13) -> None:
        pdf.ln(3)
        pdf.set_font("helvetica", "B", size)
        pdf.multi_cell(width, 7, _text(words), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 10)

    def line(words: str) -> None:
        pdf.multi_cell(width, 5, _text(words), new_x="LMARGIN", new_y="NEXT")

    def table(rows: list[list], widths: list[float]) -> None:
        with pdf.table(col_widths=widths, text_align="LEFT", line_height=5.5, width=width) as grid:
            for row in rows:
                cells = grid.row()
                for value in row:
                    cells.cell(_text(str(value)))

    summary, video, model = result["summary"], result["video"], result["model"]
    heading("Ergonomic risk assessment (RULA and REBA from video)", 16)
    table([["Video file", video.get("name", "")], ["Job", result.get("job_id") or "-"], ["Analysed (UTC)", result["created_at"]],
           ["Video", f"{video['duration']:.1f} s, {video['width']} x {video['height']}"],
           ["Quality preset", f"{result['preset']['name']}: {result['preset']['description']}"],
           ["Pose model", f"{model['name']} ({model.get('weights', '')})"]], [1, 3])
    for warning in [model.get("warning"), *summary.get("warnings", [])]:
        if warning:
            heading(warning, 11)
    analysed = max(summary["frames_analysed"], 1)
    heading("What the scores stand on")
    line(f"{summary['frames_analysed']} frames analysed: {summary['frames_scored']} scored exactly "
         f"({100 * summary['frames_scored'] / analysed:.0f}%), {summary['frames_ranged']} as a range because a body part was "
         f"out of sight ({100 * summary['frames_ranged'] / analysed:.0f}%), {summary['frames_unscored']} not scored "
         f"({100 * summary['frames_unscored'] / analysed:.0f}%). Level shares below are of the exactly scored frames.")
    for method in ("rula", "reba"):
        block = summary[method]
        mean = "-" if block["mean"] is None else f"{block['mean']:.1f}"
        heading(f"{method.upper()}: highest {block['max'] if block['max'] is not None else '-'}, mean {mean}")
        if block["ranged_frames"]:
            line(f"{block['ranged_frames']} more frames scored as a range, up to {block['ranged_max']}.")
        table([["Level", "Meaning", "Frames", "Seconds", "Share"]]
              + [[level, row["label"], row["frames"], f"{row['seconds']:.1f}", f"{100 * row['share']:.0f}%"]
                 for level, row in block["levels"].items()], [1, 4, 1.3, 1.3, 1.2])
        moments = ", ".join(f"{m['time_s']:.1f} s (score {m['score']})" for m in block["worst_moments"]) or "none"
        line(f"Worst moments: {moments}.")

    heading("Risk over time")
    _timelines(pdf, result, width)
    if pictures:
        pdf.add_page()
        heading("Posture pictures (faces blurred)" if all(p["face_blurred"] for _, p in pictures) else "Posture pictures")
        for image, record in pictures:
            if pdf.get_y() > pdf.h - 110:
                pdf.add_page()
            pdf.image(str(image), w=min(width, 120))
            line(f"{record['time_s']:.1f} s: " + "; ".join(record["reasons"]) + ".")
            pdf.ln(2)

    pdf.add_page()
    heading("Time in each posture band")
    rows = [["Body part", "Band", "Seconds", "Share"]]
    for part, bands in summary["time_in_band"].items():
        rows += [[part.replace("_", " "), band, f"{v['seconds']:.1f}", f"{100 * v['share']:.0f}%"] for band, v in bands.items()]
    table(rows, [2, 2, 1, 1])
    heading("Sustained postures outside the normal band (4 s or longer)")
    held = [run for run in summary["sustained_postures"] if run["band"] != "normal"]
    if held:
        table([["Body part", "Band", "From (s)", "For (s)"]]
              + [[r["part"].replace("_", " "), r["band"], f"{r['start_s']:.1f}", f"{r['duration_s']:.1f}"] for r in held], [2, 2, 1, 1])
    else:
        line("None.")
    heading("Measured and assumed")
    inputs = result["inputs"]
    line("Measured from the video: " + ", ".join(name.replace("_", " ") for name in inputs["measured"]) + ".")
    table([["Assumed (the job's task details)", "Value"]]
          + [[name.replace("_", " "), value] for name, value in inputs["assumed"].items()], [3, 1])
    heading("Methods")
    for reference in REFERENCES:
        line(reference)
    heading("Assessment")
    for label in ("Assessor's name", "Signature", "Date"):
        pdf.ln(6)
        pdf.cell(45, 8, _text(f"{label}:"))
        pdf.cell(0, 8, "_" * 60, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return Path(path)


def _timelines(pdf, result: dict, width: float) -> None:
    """The RULA and REBA strips coloured by level, then each body part's strip coloured by its score: vector drawing."""
    times = np.asarray(result["timestamps"], dtype=float)
    if not len(times):
        return
    step = float(times[1] - times[0]) if len(times) > 1 else 1.0
    duration = float(times[-1]) + step
    label_width, strip = 32.0, 5.0
    x0, span = pdf.l_margin + label_width, width - label_width

    def strip_row(label: str, colours: list[tuple[int, int, int] | None]) -> None:
        y = pdf.get_y()
        pdf.set_font("helvetica", "", 8)
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_width, strip, _text(label))
        pdf.set_fill_color(*GREY)
        pdf.rect(x0, y, span, strip, style="F")
        for t, colour in zip(times, colours, strict=True):
            if colour is not None:
                pdf.set_fill_color(*colour)
                pdf.rect(x0 + span * t / duration, y, max(0.2, span * step / duration), strip, style="F")
        pdf.set_y(y + strip + 1.5)

    for method, key in (("rula", "action_level"), ("reba", "risk_level")):  # each frame's level, as scored
        strip_row(f"{method.upper()} level", [None if math.isnan(v) else LEVEL_COLOURS[method][int(v)] for v in result[method][key]])
    pdf.ln(2)
    for method, parts in BODY_PART_MAXIMA.items():
        for part, highest in parts.items():
            strip_row(f"{method.upper()} {part.replace('_', ' ')}", [shade(float(s), highest) for s in result[method][part]])
    pdf.set_font("helvetica", "", 8)
    pdf.multi_cell(width, 4, _text(f"0 to {duration:.1f} s. Levels: green low to red high; body parts: their score as a quarter "
                                   "of the highest the worksheet gives the part; grey: not scored."), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
