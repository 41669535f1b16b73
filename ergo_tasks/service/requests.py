"""What an action is asked with: one pydantic model per request, and who is asking (:class:`Caller`).

The models are the API's input contract: unknown fields are refused, strings are stripped, and every choice
comes from its one source (quality from the presets, artifact from the result files), so the OpenAPI spec
lists them and a bad value is refused before storage is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.assessment import AssessmentParams
from pipeline.presets import DEFAULT_PRESET, PRESETS
from pipeline.results import FILES
from pipeline.task_record import TaskRecord
from pipeline.time_range import TimeRange as Span

from ..analysis.keys import OPERATOR
from ..states import State


class ActionRequest(BaseModel):
    """What every action's request shares: unknown fields are refused, and strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UploadRequest(ActionRequest):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str | None = Field(None, max_length=100)
    #: The file's size in bytes: every URL is signed for exactly this many.
    size: int = Field(gt=0)


class UploadPartsRequest(ActionRequest):
    video_key: str = Field(min_length=1, max_length=300)
    upload_id: str = Field(min_length=1, max_length=1024)


class SizedUploadRequest(UploadPartsRequest):
    size: int = Field(gt=0)


class SignPartsRequest(SizedUploadRequest):
    parts: list[int] = Field(min_length=1, max_length=100)


# The choices come from their one source; as Literals they are validated and listed in the OpenAPI spec.
Quality = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
Artifact = Literal[tuple(FILES)]  # type: ignore[valid-type]


class TimeRange(ActionRequest):
    """Part of the video to analyse (a task cycle), in seconds into it: ``start_s <= t < end_s``; neither given, the
    whole video.  The rule is :meth:`pipeline.time_range.TimeRange.checked`'s; a range past the video's end is the
    worker's to judge (it has the video): an end past it is clipped and said, a start past it refused."""

    start_s: float | None = Field(None, ge=0, allow_inf_nan=False, description="seconds into the video; unset: its start")
    end_s: float | None = Field(None, gt=0, allow_inf_nan=False, description="seconds into the video (not included); unset: its end")

    @model_validator(mode="after")
    def _a_range(self) -> TimeRange:
        Span.checked(self.start_s, self.end_s)  # a ValueError in words: the request is refused with them
        return self

    def range_kwargs(self) -> dict[str, float]:
        """The range as a job's keyword arguments; none for the whole video."""
        span = Span.checked(self.start_s, self.end_s)
        return {} if span is None else span.as_kwargs()


class StartRequest(TimeRange):
    video_key: str = Field(min_length=1, max_length=300)
    quality: Quality = DEFAULT_PRESET
    params: AssessmentParams | None = None
    #: Blur faces in the posture pictures (on by default: they are pictures of employees).
    blur_faces: bool = True
    #: Write the annotated video (overlay.mp4); unset, the preset decides (off at low).
    overlay: bool | None = None
    #: Every request with this key gets the same job; unset, the upload and the options are the key.
    idempotency_key: str | None = Field(None, min_length=8, max_length=128)
    #: Station, task, department, assessor and notes; not part of the analysis (``update_record`` changes it later).
    record: TaskRecord | None = None


class JobRequest(ActionRequest):
    job_id: str = Field(min_length=1, max_length=64)


class RecordRequest(JobRequest):
    #: The job's whole new record: a field left out is emptied.
    record: TaskRecord


class CompareRequest(ActionRequest):
    """Two of the caller's completed jobs: the one before a change, and the one after it."""

    before: str = Field(min_length=1, max_length=64)
    after: str = Field(min_length=1, max_length=64)


class RescoreRequest(TimeRange, JobRequest):
    """A finished job's poses scored again (``rescore_job``): new task details, a part of the video, or both."""

    #: The new task details, replacing the original's whole (unset: the original's are kept).
    params: AssessmentParams | None = None
    #: Every request with this key gets the same job; unset, the job and the options are the key.
    idempotency_key: str | None = Field(None, min_length=8, max_length=128)


class DownloadRequest(JobRequest):
    artifact: Artifact = "pkl"


class ListRequest(ActionRequest):
    state: State | None = None
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=64)


class MyJobsRequest(ActionRequest):
    """The caller's own jobs, newest first: a page of them, filtered by task record (exactly, in any case) and text."""

    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=64)
    station: str | None = Field(None, max_length=200)
    task: str | None = Field(None, max_length=200)
    #: Found anywhere in the video's name, the station, task, department, assessor or notes (in any case).
    text: str | None = Field(None, max_length=200)


class EmptyRequest(ActionRequest):
    pass


class PurgeRequest(ActionRequest):
    #: Finished jobs whose end lies more than this many days back are deleted.
    older_than_days: float = Field(ge=0)
    #: Only say what would be deleted (the default: deleting takes an explicit false).
    dry_run: bool = True
    #: At most this many jobs per call; ``more`` says whether to call again.
    limit: int = Field(100, ge=1, le=1000)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the transport says (never the request's input).

    ``client`` identifies a token (None when auth is off); operators see every job; ``internal`` callers
    (the RunPod endpoint, reachable only with its API key) may use ``execute``.  ``on_progress`` is the
    transport's way to report a running job's progress, where it has one.
    """

    client: str | None = None
    operator: bool = True
    internal: bool = True
    on_progress: Callable[[dict], None] | None = field(default=None, compare=False)

    @property
    def owner(self) -> str:
        """Whose uploads and jobs the caller's are: its token's fingerprint, or the operator's (no token: CLI, RunPod)."""
        return self.client or OPERATOR


#: An operator at a console (``ergo jobs``): every job, but not the RunPod endpoint's ``execute``.
OPERATOR_CONSOLE = Caller(client=None, operator=True, internal=False)
