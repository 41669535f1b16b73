"""The result files (data, summary, frames, workbook, PDF report, annotated video, the skeleton the page draws),
and a safe way to read the pickle back.

``format``, ``version``  ``"ergo-result"``, ``1``
``job_id``, ``created_at``  job id (or None) and ISO-8601 UTC time
``video``              file name, frame count, fps, size, rotation, codec, reader, duration, file size
``preset``             name, sampling rate (frames/s), description (frames are read at one size: ``presets.ANALYSIS_LONG_SIDE``)
``model``              pose model name, weights, device, precision, keypoint names; BlazePose: ``smooth_landmarks``, tracking
``frame_indices``      (n,) int64: analysed frame numbers in the video
``timestamps``         (n,) float64: their times in seconds
``keypoint_names``     list of the model's keypoint names
``keypoints``          (n, k, 3) float32: the main worker's x, y (pixels of the analysed frame), confidence; NaN if absent
``world_keypoints``    (n, k, 3) float32 metric 3D points (x right, y down, z away from the camera, origin between
                       the hips), or None for models without them
``boxes``              (n, 5) float32: the main worker's box and score
``detected``           (n,) bool: a person was found (and accepted as one: see pipeline/plausibility.py)
``rejections``         (n,) list of str: why a pose found in the frame was rejected as not a person ("" if not)
``out_of_view``        (n,) list of str: the body parts not seen in the frame ("trunk; legs"; "" if all were, or no person)
``angles``             dict of (n,) float64 angles in degrees (see pipeline/angles.py), NaN if not measurable
``rula``, ``reba``     dicts of (n,) float64 per-frame scores, every intermediate score; NaN if not scored.  Where a
                       body part was out of sight the frame is *ranged*: the scores of what was seen, NaN for the
                       rest, and ``grand_score_min``/``_max`` (RULA), ``reba_score_min``/``_max`` (REBA) bound
                       the grand score (equal to it in exactly scored frames)
``inputs``             which inputs were measured, which assumed (and their values), per angle how many
                       frames were measured in 3D and in 2D (``angle_sources``), and the camera's pitch and roll
                       that set gravity's vertical, with its method and confidence (``camera_tilt``; None in 2D)
``summary``            the summary (also in summary.json), with ``worker_height_px`` and ``warnings`` for the reader
``pictures``           the posture pictures: file (under ``frames/``), time, frame index, why, whether a face was blurred,
                       how many, and whether other people's faces were searched for
=====================  =====================================================================
=======
``result.pkl`` is a plain dict of numpy arrays, numbers, strings, lists and dicts: an
:class:`~pipeline.result_model.AnalysisResult` dumped, whose models document every field (``format`` and
``version`` among them).  Pickle from an untrusted source can run code, so :func:`load_result` uses an unpickler
that refuses every class but numpy's array and dtype reconstruction, then validates the data as the result's type.
"""

from __future__ import annotations

import csv
import io
import json
import math
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UnsafeResult
from .result_model import RESULT_FORMAT, RESULT_VERSION, AnalysisResult, Picture, validated
from .task_record import LABELS, TaskRecord

if TYPE_CHECKING:
    from .face_memory import RememberedFaces
    from .pose.blazeface import FaceDetector

FILES = {"pkl": "result.pkl", "json": "summary.json", "csv": "frames.csv", "xlsx": "report.xlsx", "pdf": "report.pdf",
         "mp4": "overlay.mp4", "skeleton": "skeleton.json"}
#: Each file in words, as a person choosing a download reads it (the page's buttons, from /api/info).
ARTIFACT_LABELS = {"pkl": "Data (PKL)", "json": "Summary (JSON)", "csv": "Frames (CSV)", "xlsx": "Report (Excel)",
                   "pdf": "Report (PDF)", "mp4": "Annotated video (MP4)", "skeleton": "Skeleton (JSON)"}
CONTENT_TYPES = {"pkl": "application/octet-stream", "json": "application/json", "csv": "text/csv",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf",
                 "mp4": "video/mp4", "skeleton": "application/json"}
#: Files a job writes only when asked (the annotated video).
OPTIONAL = ("mp4",)
#: The files that show the job's task record: written again when it is edited.
RECORD_FILES = ("xlsx", "pdf")
#: Excel's number format of a share (0.2037 shows as 20.4%).
PERCENT = "0.0%"
#: Where the posture pictures go, beside the files.
PICTURES = "frames"

_ALLOWED_GLOBALS = {
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
}


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise UnsafeResult(f"The result file refers to {module}.{name}, which a result never contains; it was not loaded.")
        return super().find_class(module, name)


def load_result(source: str | Path | bytes) -> AnalysisResult:
    """Read a ``result.pkl`` safely: only numpy arrays and plain Python data are accepted, in the result's shape."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        result = _DataOnlyUnpickler(io.BytesIO(data)).load()
    except UnsafeResult:
        raise
    except Exception as error:  # noqa: BLE001 - any decoding failure means "not a result"
        raise UnsafeResult(f"The file is not a readable result ({type(error).__name__}).") from None
    if not isinstance(result, dict) or result.get("format") != RESULT_FORMAT:
        raise UnsafeResult("The file is not an ergo result.")
    if result.get("version") != RESULT_VERSION:
        raise UnsafeResult(f"Result version {result.get('version')} is not supported (expected {RESULT_VERSION}).")
    return validated(result)


def frame_rows(result: AnalysisResult) -> tuple[list[str], list[list]]:
    """Header and rows of the per-frame table (CSV and the Excel 'Frames' sheet)."""
    angles, rula, reba = result.angles, result.rula.columns(), result.reba.columns()
    header = ["frame_index", "time_s", "person_detected", "rejected_because", "out_of_view", *angles, *(f"rula_{k}" for k in rula),
              *(f"reba_{k}" for k in reba)]
    columns = [*angles.values(), *rula.values(), *reba.values()]
    rows = []
    for i, (index, time) in enumerate(zip(result.frame_indices, result.timestamps)):
        values = [None if math.isnan(c[i]) else round(float(c[i]), 2) for c in columns]
        rows.append([int(index), round(float(time), 3), bool(result.detected[i]), result.rejections[i], result.out_of_view[i], *values])
    return header, rows


def write_results(result: AnalysisResult, directory: str | Path, video: str | Path | None = None, *, blur_faces: bool = True,
                  faces: FaceDetector | None = None, memory: RememberedFaces | None = None, overlay: bool = False,
                  record: TaskRecord | None = None) -> dict[str, Path]:
    """Write the files into ``directory``; with ``video``, the posture pictures under ``frames/`` (recorded in
    ``result.pictures``) and, with ``overlay``, the annotated video, both with the faces ``faces`` finds blurred
    (and the worker's) unless ``blur_faces`` is off; ``memory``: the faces already found in frames, by this job or
    the one it starts from (:mod:`.face_memory`, around the same detector), which the pictures ask before searching
    (the annotated video searches with ``faces`` itself, reading only what changed from frame to frame);
    ``record``: the job's task record, in the workbook and the report; returns {artifact: path}.

    The pictures are drawn in a thread of their own while the files that do not show them are written (the table,
    the skeleton, the workbook): decoding their frames and searching them for faces leave Python's lock free, and
    the workbook is all Python, so on two cores a re-score pays about the longer of the two, not their sum."""
    from concurrent.futures import ThreadPoolExecutor

    from .evidence import write_overlay
    from .skeleton import skeleton_document

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {artifact: directory / name for artifact, name in FILES.items() if artifact not in OPTIONAL}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pictures") as drawing:
        pictured = memory if memory is not None else faces
        pictures = drawing.submit(_pictures_beside, result, video, directory / PICTURES, blur_faces=blur_faces, faces=pictured) if video else None
        paths["skeleton"].write_text(json.dumps(skeleton_document(result), separators=(",", ":")))
        header, rows = frame_rows(result)
        with open(paths["csv"], "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(["" if v is None else v for v in row] for row in rows)
        _write_workbook(result, header, rows, paths["xlsx"], record or TaskRecord())
        result.pictures = pictures.result() if pictures else []
    if video and overlay:  # after the pictures: one face detector, one thread at a time
        paths["mp4"] = write_overlay(result, video, directory / FILES["mp4"], blur_faces=blur_faces, faces=faces)
    with open(paths["pkl"], "wb") as out:
        pickle.dump(result.model_dump(), out, protocol=5)
    paths["json"].write_text(json.dumps(result.document(), indent=2))
    _write_report(result, directory, record)
    return paths


def _pictures_beside(result: AnalysisResult, video: str | Path, directory: Path, *, blur_faces: bool,
                     faces: FaceDetector | RememberedFaces | None) -> list[Picture]:
    """:func:`.evidence.write_pictures`, as :func:`write_results` runs it beside the workbook: with the face search's
    network (Torch) on one thread of its own, since the workbook has the other core.  Torch's second thread would
    only wait for that core, spinning: re-scores one after another in one process on a loaded machine took a median
    18 s of wall time and 12 s of CPU with two, 6 s and 4 s with one (``faces`` None: no Torch to set)."""
    from .evidence import write_pictures

    if faces is None:
        return write_pictures(result, video, directory, blur_faces=blur_faces, faces=faces)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # this thread's network calls; and threads started later, until it is set back
    try:
        return write_pictures(result, video, directory, blur_faces=blur_faces, faces=faces)
    finally:
        torch.set_num_threads(threads)


def write_record_files(result: AnalysisResult, directory: str | Path, record: TaskRecord | None) -> dict[str, Path]:
    """The files that show the task record (:data:`RECORD_FILES`: the workbook and the PDF report), into
    ``directory`` again when the record is edited, from the stored result and its posture pictures (already under
    ``frames/``); nothing else is computed again."""
    directory = Path(directory)
    _write_workbook(result, *frame_rows(result), directory / FILES["xlsx"], record or TaskRecord())
    _write_report(result, directory, record)
    return {artifact: directory / FILES[artifact] for artifact in RECORD_FILES}


def _write_report(result: AnalysisResult, directory: Path, record: TaskRecord | None) -> None:
    """The PDF report, with the posture pictures already under ``directory``'s ``frames/``."""
    from .report import write_report

    write_report(result, directory / FILES["pdf"], [(directory / PICTURES / p.file, p) for p in result.pictures], record)


def _write_workbook(result: AnalysisResult, header: list[str], rows: list[list], path: Path, record: TaskRecord) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    summary = _SummarySheet(book.create_sheet("Summary"))
    summary.title("Ergonomic risk assessment")
    for section in (_verdict_rows, _job_rows):
        section(summary, result)
    _record_rows(summary, record)  # beside the job: which station and task, who assessed it
    for section in (_score_rows, _band_rows, _input_rows):
        section(summary, result)
    frames = book.create_sheet("Frames")
    frames.append(header)
    for row in rows:
        frames.append(row)
    _add_body_part_charts(book.create_sheet("Charts"), frames, header, len(rows))
    book.save(path)


class _SummarySheet:
    """The workbook's summary sheet, written row by row (openpyxl's write-only mode), with bold titles and shares
    kept as numbers shown as percentages (sums and charts work on them)."""

    def __init__(self, sheet) -> None:
        self.sheet = sheet
        sheet.column_dimensions["A"].width = 34

    def append(self, row: list) -> None:
        self.sheet.append(row)

    def title(self, text: str) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        cell = WriteOnlyCell(self.sheet, value=text)
        cell.font = Font(bold=True)
        self.sheet.append([cell])

    def percent(self, share: float):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self.sheet, value=share)
        cell.number_format = PERCENT
        return cell


def _verdict_rows(sheet: _SummarySheet, result: AnalysisResult) -> None:
    verdict = result.summary.verdict
    sheet.append(["Verdict", verdict.status])
    for reason in verdict.reasons:
        sheet.append(["Why", reason])
    for advice in verdict.advice:
        sheet.append(["What to do", advice])
    for warning in [result.model.warning, *result.summary.warnings]:
        if warning:
            sheet.append(["WARNING", warning])


def _job_rows(sheet: _SummarySheet, result: AnalysisResult) -> None:
    summary, video, model, preset = result.summary, result.video, result.model, result.preset
    for label, value in [("Video file", video.name), ("Job", result.job_id or ""), ("Created (UTC)", result.created_at),
                         ("Video duration (s)", round(video.duration, 2)), ("Video size", f"{video.width} x {video.height}"),
                         ("Part analysed", result.analysed_span() or "the whole video"),
                         ("Quality preset", f"{preset.name}: {preset.description}"),
                         ("Pose model", f"{model.name} ({model.weights or ''})"),
                         ("Frames analysed", summary.frames_analysed), ("Frames with a person", summary.frames_with_person),
                         ("Frames rejected as not a person", summary.frames_rejected),
                         ("Frames scored exactly", summary.frames_scored),
                         ("Frames scored as a range (a body part out of sight)", summary.frames_ranged),
                         ("Frames not scored", summary.frames_unscored),
                         ("Detection rate", sheet.percent(summary.detection_rate))]:
        sheet.append([label, value])


def _record_rows(sheet: _SummarySheet, record: TaskRecord) -> None:
    """Every field of the task record, given or not: the same cells in every workbook, to fill in or to read."""
    sheet.append([])
    sheet.title("Task record")
    for name, label in LABELS.items():
        sheet.append([label, getattr(record, name)])


def _score_rows(sheet: _SummarySheet, result: AnalysisResult) -> None:
    """Each method's headline, its time at each level and its worst moments; none for a job not assessable."""
    from .summary import shows_findings

    summary = result.summary
    if not shows_findings(summary):
        sheet.append([])
        sheet.append(["RULA and REBA", "no score and no risk level: the video is not assessable (see the verdict above)"])
        return
    for method, block in (("RULA", summary.rula), ("REBA", summary.reba)):
        sheet.append([])
        ranged = f"; {block.ranged_frames} more frames as a range, up to {block.ranged_max}" if block.ranged_frames else ""
        sheet.title(f"{method}: max {block.max}, mean {block.mean} over {block.scored_frames} exactly scored frames{ranged}")
        sheet.append(["Level", "Meaning", "Frames", "Seconds", "Share of scored time"])
        for level, row in block.levels.items():
            sheet.append([level, row.label, row.frames, row.seconds, sheet.percent(row.share)])
        sheet.append(["Worst moments (s)", *[f"{m.time_s} s: {m.score}" for m in block.worst_moments]])


def _band_rows(sheet: _SummarySheet, result: AnalysisResult) -> None:
    summary = result.summary
    sheet.append([])
    sheet.title("Time in band (seconds / share)")
    for part, bands in summary.time_in_band.items():
        sheet.append([part, *[f"{label}: {v.seconds} s ({v.share:.0%})" for label, v in bands.items()]])
    sheet.append([])
    sheet.title("Sustained postures (at least 4 s)")
    sheet.append(["Part", "Band", "Start (s)", "End (s)", "Duration (s)"])
    for run in summary.sustained_postures:
        sheet.append([run.part, run.band, run.start_s, run.end_s, run.duration_s])


def _input_rows(sheet: _SummarySheet, result: AnalysisResult) -> None:
    from .report import input_words

    sheet.append([])
    sheet.title("Inputs")
    sheet.append(["Measured from the video", ", ".join(result.inputs.measured)])
    for words, value in input_words(result.inputs.assumed):
        sheet.append([f"Assumed: {words}", value])
    for name, counts in result.inputs.angle_sources.items():
        faced = counts.get("2d_in_picture", 0)  # older results did not count them
        sheet.append([f"Angle {name}", f"from 3D points in {counts['3d']} frames, from the 2D image in {counts['2d']}"
                      + (f" ({faced} of them where the body part lay across the picture)" if faced else "")])


#: The body parts each method scores, as the per-frame score columns name them, in worksheet order.
BODY_PARTS = {"rula": ("upper_arm", "lower_arm", "wrist", "neck", "trunk", "legs"),
              "reba": ("trunk", "neck", "legs", "upper_arm", "lower_arm", "wrist")}


def _add_body_part_charts(sheet, frames, header: list[str], count: int) -> None:
    """Native Excel line charts of each body part's score over time, drawn from the Frames sheet (so they follow
    any edit there): one for RULA, one for REBA, and one for the two final scores."""
    from openpyxl.chart import LineChart, Reference

    times = Reference(worksheet=frames, min_col=header.index("time_s") + 1, min_row=2, max_row=count + 1)
    plots = [("RULA body-part scores", [f"rula_{part}" for part in BODY_PARTS["rula"]]),
             ("REBA body-part scores", [f"reba_{part}" for part in BODY_PARTS["reba"]]),
             ("RULA grand score and REBA score", ["rula_grand_score", "reba_reba_score"])]
    for index, (name, columns) in enumerate(plots):
        chart = LineChart()
        chart.title, chart.y_axis.title, chart.x_axis.title = name, "score", "time in the video (s)"
        chart.height, chart.width = 8, 24
        for column in columns:
            at = header.index(column) + 1
            chart.add_data(Reference(worksheet=frames, min_col=at, min_row=1, max_row=count + 1), titles_from_data=True)
        chart.set_categories(times)
        sheet.add_chart(chart, f"A{1 + index * 17}")
