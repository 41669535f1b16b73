"""The analysis result's shape, in one place: the typed models every reader of a result goes through.

:func:`pipeline.analysis.assemble` builds an :class:`AnalysisResult`; the result files (:mod:`.results`), the
report, the posture pictures, the job's status and the command line read its attributes, so a field added, renamed
or of another type fails where the result is made, not in a reader far away.  ``result.pkl`` holds
:meth:`AnalysisResult.model_dump` (a plain dict of numpy arrays, numbers, strings, lists and dicts: safe to
unpickle, see :func:`.results.load_result`); ``summary.json`` and the job's status hold the
:class:`ResultDocument` part of it, as JSON.  :func:`result_schema` publishes the JSON schema with
:data:`RESULT_VERSION`, which changes whenever the shape does.

The per-frame columns are numpy arrays of one row per analysed frame (:class:`FrameColumns`), NaN where nothing
was measured or scored; in JSON they are lists, with null for NaN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator
from pydantic_core import core_schema

from .angles import AngleSettings
from .assessment import AssessmentParams
from .errors import MalformedResult
from .time_range import range_words

RESULT_FORMAT = "ergo-result"
#: The shape's version, raised whenever the models below change it.  Version 1 files written before these models
#: have the same shape; those from before the verdict and the rejections existed are refused as malformed.
RESULT_VERSION = 1


@dataclass(frozen=True)
class Column:
    """A numpy array of ``ndim`` dimensions whose dtype is of one of the numpy ``kinds`` ("f" float, "iu" integer,
    "b" bool): kept as the array (no copy) in Python, a nested list in JSON (NaN as null)."""

    kinds: str
    ndim: int
    item: str  # the JSON type of an element

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.validate, serialization=core_schema.plain_serializer_function_ser_schema(_json_list, when_used="json"))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict:
        element: dict = {"type": [self.item, "null"] if self.item == "number" else self.item}
        for _ in range(self.ndim):
            element = {"type": "array", "items": element}
        return element

    def validate(self, value: Any) -> np.ndarray:
        if not isinstance(value, np.ndarray):
            value = np.asarray(value, dtype=float if "f" in self.kinds else None)  # a JSON list (null: NaN)
        if value.dtype.kind not in self.kinds:
            raise ValueError(f"expected an array of {_KIND_WORDS[self.kinds]}, got one of {value.dtype}")
        if value.ndim != self.ndim:
            raise ValueError(f"expected an array of {self.ndim} dimension(s), got {value.ndim}")
        return value


_KIND_WORDS = {"f": "floats", "iu": "integers", "b": "booleans"}


def _json_list(array: np.ndarray) -> list:
    if array.dtype.kind == "f":
        return np.where(np.isnan(array), None, array.astype(object)).tolist()
    return array.tolist()


#: Per-frame columns: (n,) floats, frame numbers and flags; (n, k, 3) points; (n, 5) boxes.
Floats = Annotated[np.ndarray, Column("f", 1, "number")]
Indices = Annotated[np.ndarray, Column("iu", 1, "integer")]
Flags = Annotated[np.ndarray, Column("b", 1, "boolean")]
Points = Annotated[np.ndarray, Column("f", 3, "number")]
Boxes = Annotated[np.ndarray, Column("f", 2, "number")]


class Record(BaseModel):
    """A part of the result: no field it does not declare, every assignment checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# -- what was analysed, and how ------------------------------------------------------------------------------------
class VideoRecord(Record):
    """The video as probed (:class:`pipeline.video.VideoInfo`), with the name the person knows it by."""

    name: str = Field("", description="the file name the person knows the video by (the upload's)")
    frame_count: int
    fps: float
    width: int = Field(description="as displayed, after rotation")
    height: int
    rotation: int = Field(description="degrees counter-clockwise applied to stored frames to display them")
    codec: str
    reader: str = Field(description='"decord" or "pyav"')
    size_bytes: int
    duration: float = Field(description="seconds")
    fallback_frames: list[int] = Field(description="frames decord failed on and PyAV read")


class PresetRecord(Record):
    """The quality preset (:class:`pipeline.presets.Preset`) as clients see it."""

    name: str
    sample_fps: float
    description: str
    overlay: bool
    relative_time: float
    default: bool


class ModelRecord(Record):
    """The pose model as it describes itself (each model adds its own details: variant, smoothing, tracking, ...),
    with the numeric libraries' instruction set in force (:func:`pipeline.numerics.in_force`)."""

    model_config = ConfigDict(extra="allow")

    name: str
    weights: str | None = None
    device: str | None = None
    precision: str | None = None
    warning: str | None = Field(None, description="set when the scores are meaningless (random weights)")
    numerics: dict[str, bool | str | list[str]]

    @model_serializer(mode="wrap")
    def _as_described(self, handler: Any) -> dict:
        """Only what the model described: a detail it does not have is left out, not written as null."""
        return {key: value for key, value in handler(self).items() if key in self.model_fields_set or value is not None}


# -- what the scores stand on -------------------------------------------------------------------------------------
class CameraTiltRecord(Record):
    """Gravity's vertical as the camera sees it (:class:`pipeline.angles.CameraTilt`)."""

    pitch: float
    roll: float
    method: str = Field(description='"given", "scene", "stance" or "none"')
    confidence: str
    frames: int
    spread: float | None
    uncertainty: float = Field(0.0, description="degrees the vertical may be off (0 when confidence is high); the trunk's "
                                                "score ranges are widened by it")
    lines: int = Field(0, description="the scene's straight segments that pointed at the vertical (0 in older results)")
    line_length: float = Field(0.0, description="their length in lengths of the image's long side")
    scene_pitch: float | None = Field(None, description="the lines' own pitch where they were trusted (a re-score uses it)")
    scene_roll: float | None = Field(None, description="the lines' own roll where they were trusted")


#: Per angle, the frames measured in 3D and in 2D; of the 2D ones, those where the 3D points were there but the angle
#: lay across the picture (:mod:`pipeline.viewpoint`), so the image measured it at its size (absent in older results).
AngleSources = dict[Literal["3d", "2d", "2d_in_picture"], int]


class ViewpointRecord(Record):
    """From where the camera saw the worker (:class:`pipeline.viewpoint.Viewpoint`)."""

    frames: dict[str, int] = Field(description="per view (front, oblique_front, side, oblique_back, back), the frames")
    median_azimuth: float | None = Field(description="degrees: 0 the camera in front of the worker, 90 at their side, 180 behind")
    trunk_uncertainty: float = Field(0.0, description="degrees the trunk's flexion may be off for the depth it lies in from this "
                                                      "viewpoint (from behind); the trunk's score ranges are widened by it")
    knee_uncertainty: float = Field(0.0, description="degrees a knee may be bent beyond what was measured where its bend lay along the "
                                                     "line of sight (filmed from the front or behind); REBA's score ranges reach it "
                                                     "(0 in older results)")
    knee_frames: int = Field(0, description="frames whose knees' bend lay along the line of sight, so were ranged (0 in older results)")


class Inputs(Record):
    """Which inputs the video measured and which the job's task details stood in for."""

    measured: list[str]
    assumed: AssessmentParams = Field(description="every task detail with the value the scores used")
    frames_with_assumed_knees: int
    frames_measured: dict[str, int] = Field(description="per optional input, the exactly scored frames that measured it")
    frames_scored: int
    frames_ranged: int
    angle_sources: dict[str, AngleSources] = Field(description="per angle, frames measured in 3D and in 2D")
    camera_tilt: CameraTiltRecord | None = Field(description="None for models without 3D points")
    viewpoint: ViewpointRecord | None = Field(None, description="from where the camera saw the worker; None without 3D points")


# -- the summary --------------------------------------------------------------------------------------------------
class LevelTime(Record):
    label: str
    frames: int
    seconds: float
    share: float = Field(description="of the exactly scored frames")


class Moment(Record):
    time_s: float
    frame_index: int
    score: int


class MethodSummary(Record):
    """One method's (RULA's or REBA's) scores over the video."""

    scored_frames: int
    ranged_frames: int = Field(description="frames with a body part not seen: their score lies in a range")
    ranged_max: int | None = Field(description="the highest a ranged frame's score could reach")
    shares_of: Literal["scored_frames"]
    max: int | None
    mean: float | None
    levels: dict[str, LevelTime] = Field(description="per level (its number as text)")
    worst_moments: list[Moment]


class BandTime(Record):
    seconds: float
    share: float = Field(description="of the frames the part was measured in")


class SustainedPosture(Record):
    part: str = Field(description="a body part of time_in_band")
    band: str = Field(description="one of that part's bands; 'normal' is its neutral one")
    start_s: float
    end_s: float
    duration_s: float


class Verdict(Record):
    """Whether the job can be assessed, why not fully, and what to do (:func:`pipeline.summary.verdict`)."""

    status: Literal["assessable", "partly assessable", "not assessable"]
    reasons: list[str]
    advice: list[str]


class Source(Record):
    name: str = Field(description='short, as cited beside the words: "ISO 11226:2000"')
    citation: str


class Finding(Record):
    """A body part whose score drives the result, and what to change (:func:`pipeline.advice.what_to_change`): the
    words come from the repository's sourced table, never made up per job."""

    part: str
    method: Literal["rula", "reba"] = Field(description="the method whose part score was read")
    min_score: int = Field(description="the part score from which its band counts as raised")
    share: float = Field(description="of the method's exactly scored frames, in the raised band")
    why: str
    recommendation: str
    sources: list[Source]


class Summary(Record):
    """The summary a safety engineer reads first (:func:`pipeline.summary.summarize`)."""

    frames_analysed: int
    frames_with_person: int
    detection_rate: float
    frames_rejected: int = Field(description="poses rejected as not a person (pipeline/plausibility.py)")
    frames_scored: int
    frames_ranged: int
    frames_unscored: int
    parts_out_of_view: dict[str, int] = Field(description="of the frames with the worker, how many left each body part out of view")
    rula: MethodSummary
    reba: MethodSummary
    time_in_band: dict[str, dict[str, BandTime]] = Field(
        description="per body part (trunk, neck and upper arms always; trunk and neck side bends, lower arms, wrists and "
                    "knees where measured, each arm and leg per side), per band (pipeline/bands.py)")
    sustained_postures: list[SustainedPosture]
    person_missing_spans: list[tuple[float, float]] = Field(description="(start, end) seconds")
    damaged_spans: list[str]
    worker_height_px: float | None
    warnings: list[str]
    verdict: Verdict
    what_to_change: list[Finding] = Field(default_factory=list, description="the body parts that drive the result, "
                                          "most often raised first; none when the job is not assessable")

    def held_postures(self) -> list[SustainedPosture]:
        """The sustained postures outside their part's normal band: holding a normal posture is no risk."""
        return [run for run in self.sustained_postures if run.band != "normal"]


class Picture(Record):
    """A posture picture under ``frames/`` (:func:`pipeline.evidence.write_pictures`)."""

    file: str
    time_s: float
    frame_index: int
    reasons: list[str]
    face_blurred: bool
    faces_blurred: int = Field(description="how many faces were blurred (the worker's and everyone BlazeFace found)")
    faces_searched: bool = Field(description="whether BlazeFace searched the picture for other people's faces (else only the worker's was blurred)")


class TimeRangeRecord(Record):
    """The part of the video analysed (:mod:`pipeline.time_range`): frames shown at ``start_s <= t < end_s``."""

    start_s: float
    end_s: float = Field(description="the end analysed: the end asked for, or the video's end where that came first")
    asked_end_s: float | None = Field(None, description="the end asked for, when it lay past the video's end (clipped)")


class ResultDocument(Record):
    """What ``summary.json`` and the job's status hold: the result without its per-frame columns."""

    format: Literal[RESULT_FORMAT]  # type: ignore[valid-type]
    version: Literal[RESULT_VERSION]  # type: ignore[valid-type]
    job_id: str | None
    created_at: str = Field(description="ISO-8601 UTC")
    video: VideoRecord
    preset: PresetRecord
    model: ModelRecord
    inputs: Inputs
    summary: Summary
    pictures: list[Picture] = Field(default_factory=list, description="written with the result files")
    time_range: TimeRangeRecord | None = Field(None, description="the part of the video analysed; null: all of it")

    def analysed_span(self) -> str | None:
        """"analysed 12.0 s – 47.5 s of 2 min 10 s", or None when the whole video was analysed."""
        span = self.time_range
        return None if span is None else range_words(span.start_s, span.end_s, self.video.duration, span.asked_end_s)


# -- per frame ----------------------------------------------------------------------------------------------------
class ScoreColumns(Record):
    """A method's per-frame scores, every intermediate one; NaN where not scored.  In a *ranged* frame (a body part
    out of sight) the exact grand score is NaN and the ``_min``/``_max`` columns bound it."""

    def columns(self) -> dict[str, np.ndarray]:
        """Name to column, in the worksheet's order (as frames.csv writes them)."""
        return {name: getattr(self, name) for name in type(self).model_fields}


class RulaColumns(ScoreColumns):
    upper_arm: Floats
    lower_arm: Floats
    wrist: Floats
    wrist_twist: Floats
    neck: Floats
    trunk: Floats
    legs: Floats
    table_a: Floats
    table_b: Floats
    score_c: Floats
    score_d: Floats
    grand_score: Floats
    action_level: Floats
    grand_score_min: Floats
    grand_score_max: Floats


class RebaColumns(ScoreColumns):
    trunk: Floats
    neck: Floats
    legs: Floats
    upper_arm: Floats
    lower_arm: Floats
    wrist: Floats
    table_a: Floats
    table_b: Floats
    score_a: Floats
    score_b: Floats
    score_c: Floats
    reba_score: Floats
    risk_level: Floats = Field(description="0 negligible .. 4 very high")
    reba_score_min: Floats
    reba_score_max: Floats


class FrameColumns(Record):
    """One row per analysed frame: the main worker's points, angles and scores."""

    frame_indices: Indices = Field(description="analysed frame numbers in the video")
    timestamps: Floats = Field(description="their times, seconds")
    keypoint_names: list[str]
    keypoints: Points = Field(description="(n, k, 3): x, y in pixels of the analysed frame, confidence; NaN if absent")
    world_keypoints: Points | None = Field(description="(n, k, 3) metres (x right, y down, z away), None without 3D")
    boxes: Boxes = Field(description="(n, 5): the main worker's box and score")
    detected: Flags = Field(description="a person was found and accepted as one")
    rejections: list[str] = Field(description='why a pose found was rejected as not a person ("" if not)')
    out_of_view: list[str] = Field(description='the body parts not seen, joined by "; " ("" where all were, or nobody was found)')
    angles: dict[str, Floats] = Field(description="degrees (pipeline/angles.py), NaN if not measurable")
    angle_sources: dict[str, AngleSources]
    rula: RulaColumns
    reba: RebaColumns

    @model_validator(mode="after")
    def _one_row_per_frame(self) -> FrameColumns:
        frames = len(self.frame_indices)
        columns = {"timestamps": self.timestamps, "keypoints": self.keypoints, "world_keypoints": self.world_keypoints,
                   "boxes": self.boxes, "detected": self.detected, "rejections": self.rejections, "out_of_view": self.out_of_view,
                   **{f"angles.{name}": values for name, values in self.angles.items()},
                   **{f"rula.{name}": values for name, values in self.rula.columns().items()},
                   **{f"reba.{name}": values for name, values in self.reba.columns().items()}}
        wrong = [f"{name} has {len(values)}" for name, values in columns.items() if values is not None and len(values) != frames]
        if wrong:
            raise ValueError(f"every per-frame column needs one row for each of the {frames} frames: {', '.join(wrong)}")
        return self


class AnalysisResult(ResultDocument, FrameColumns):
    """The whole result of one analysis (``result.pkl``)."""

    angle_settings: AngleSettings

    def document(self) -> dict:
        """The :class:`ResultDocument` part, as JSON data (``summary.json``, the job's status)."""
        return json.loads(self.model_dump_json(include=set(ResultDocument.model_fields)))


def problems(error: ValidationError) -> str:
    """A validation error in words: each field's dotted place and what is wrong with it."""
    return "; ".join(f"{'.'.join(str(part) for part in item['loc']) or 'the result'}: {item['msg']}" for item in error.errors())


def validated(data: dict) -> AnalysisResult:
    """``data`` as an :class:`AnalysisResult`; a malformed one is refused with what is wrong, field by field."""
    return _checked(AnalysisResult, data)


def read_document(data: dict) -> ResultDocument:
    """A job's result as its status holds it (JSON data) as a :class:`ResultDocument`, refused like :func:`validated`."""
    return _checked(ResultDocument, data)


def _checked(model: type[Record], data: dict) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise MalformedResult(f"The result is malformed: {problems(error)}.") from None


def result_schema() -> dict:
    """The result's JSON schema and version, for clients (``/api/info``)."""
    return {"version": RESULT_VERSION, "schema": AnalysisResult.model_json_schema(mode="serialization")}
