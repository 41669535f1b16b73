"""The job API: the seed's handler contract, one implementation for every transport.

The RunPod handler (``deploy/handler.py``), the HTTP gateway (``ergo serve``)
and the tests all call :meth:`JobService.handle`.  Every answer is either
``{"status": "success", ...}`` or ``{"status": "error", "error": "<words>",
"code": "<stable code>"}``: inputs are validated before storage is touched,
and no stack trace, credential or internal path ever reaches a client.

Each action is one row of :data:`ACTIONS` (request model, who may call it,
one line for the API docs) plus one method of :class:`JobService` of the same
name; the gateway publishes routes from that table, so adding an action is
one row and one method.
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.assessment import TASK_GROUPS, AssessmentParams
from pipeline.ergonomics import RISK_LEVELS
from pipeline.presets import DEFAULT_PRESET, PRESETS
from pipeline.result_model import result_schema
from pipeline.results import FILES, PICTURES
from statestore import ObjectNotFound, PreconditionFailed, StoreError

from .. import bootstrap
from ..analysis import ANALYZE_TASK, TASK_MODULES
from ..analysis.keys import OPERATOR, upload_key, upload_owned_by
from ..analysis.retention import VideoUsers, can_resume, finished_before, purge_job
from ..analysis.task import ANALYSIS_END, ANALYSIS_START
from ..app import TaskApp, default_worker_id
from ..errors import CorruptStatus, EngineError, JobNotFound, validation_message
from ..states import CLAIMABLE_STATES, RUNNING_STATES, State
from ..status import JobStatus
from ..timeutil import isoformat, utcnow
from ..timeutil import parse as parse_time
from .dispatch import Dispatcher, make_dispatcher
from .errors import DispatchError, ServiceError, error_reply
from .probe import check_video
from .progress import ProgressRelay
from .settings import MAX_PARTS, MIN_PART_BYTES, ServiceSettings
from .views import operator_fields, queue_line

log = structlog.get_logger(__name__)

#: Video file extensions the service accepts, and the content type each is stored with.
VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "avi": "video/x-msvideo", "mkv": "video/x-matroska",
               "webm": "video/webm", "m4v": "video/x-m4v"}
_UPLOAD_KEY = re.compile(r"^uploads/[0-9a-f]{32}/[A-Za-z0-9._-]{1,80}$")
#: What a request about an upload that is not there, or not the caller's, is told (the same words for both).
UPLOAD_GONE = "That upload is not in progress (completed, cancelled or expired); upload the video again."
NO_UPLOAD = "No upload was found for that video_key; upload the video first."
EXPIRED = "The result files of job {job_id} have expired and were deleted; analyse the video again to get them."
PUBLIC_STATUS = {State.PENDING: "queued", State.RETRY: "queued", State.STARTED: "processing", State.PROGRESS: "processing",
                 State.SUCCESS: "completed", State.FAILURE: "failed", State.REVOKED: "cancelled"}


# -- requests ---------------------------------------------------------------------------
class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UploadRequest(_Request):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str | None = Field(None, max_length=100)
    #: The file's size in bytes: every URL is signed for exactly this many.
    size: int = Field(gt=0)


class UploadPartsRequest(_Request):
    video_key: str = Field(min_length=1, max_length=300)
    upload_id: str = Field(min_length=1, max_length=1024)


class SizedUploadRequest(UploadPartsRequest):
    size: int = Field(gt=0)


class SignPartsRequest(SizedUploadRequest):
    parts: list[int] = Field(min_length=1, max_length=100)


# The choices come from their one source; as Literals they are validated and listed in the OpenAPI spec.
Quality = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
Artifact = Literal[tuple(FILES)]  # type: ignore[valid-type]


class StartRequest(_Request):
    video_key: str = Field(min_length=1, max_length=300)
    quality: Quality = DEFAULT_PRESET
    params: AssessmentParams | None = None
    #: Blur faces in the posture pictures (on by default: they are pictures of employees).
    blur_faces: bool = True
    #: Write the annotated video (overlay.mp4); unset, the preset decides (off at low).
    overlay: bool | None = None
    #: Every request with this key gets the same job; unset, the upload and the options are the key.
    idempotency_key: str | None = Field(None, min_length=8, max_length=128)


class JobRequest(_Request):
    job_id: str = Field(min_length=1, max_length=64)


class DownloadRequest(JobRequest):
    artifact: Artifact = "pkl"


class ListRequest(_Request):
    state: State | None = None
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=64)


class EmptyRequest(_Request):
    pass


class PurgeRequest(_Request):
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


#: An operator at a console (``ergo jobs``): every job, but not the RunPod endpoint's ``execute``.
OPERATOR_CONSOLE = Caller(client=None, operator=True, internal=False)

Role = Literal["user", "operator", "internal"]


@dataclass(frozen=True)
class Action:
    """One row of the API: what it takes, who may call it, and what it does in a line."""

    request: type[_Request]
    role: Role
    summary: str


#: Every action; the handler is the :class:`JobService` method of the same name.
ACTIONS: dict[str, Action] = {
    "generate_upload_url": Action(UploadRequest, "user", "Get a signed URL to upload a video (PUT), or an upload in parts"),
    "sign_upload_parts": Action(SignPartsRequest, "user", "Signed URLs for parts of an upload in parts"),
    "list_upload_parts": Action(UploadPartsRequest, "user", "The parts received so far (to resume an upload)"),
    "complete_upload": Action(SizedUploadRequest, "user", "Join the parts of an upload once all are sent"),
    "abort_upload": Action(UploadPartsRequest, "user", "Drop an upload in parts and what it sent"),
    "start_processing": Action(StartRequest, "user", "Start the analysis of an uploaded video"),
    "get_status": Action(JobRequest, "user", "A job's status, progress and, when completed, results"),
    "generate_download_url": Action(DownloadRequest, "user", "A signed URL for one result file"),
    "health": Action(EmptyRequest, "user", "Storage and dispatch health"),
    "list_jobs": Action(ListRequest, "operator", "Recent jobs (operator)"),
    "cancel_job": Action(JobRequest, "user", "Cancel a job (your own; an operator's, any)"),
    "resume_job": Action(JobRequest, "operator", "Resume a failed or cancelled job from its checkpoint (operator)"),
    "purge_jobs": Action(PurgeRequest, "operator", "Delete old finished jobs, their files and the videos no job needs (operator)"),
    "execute": Action(JobRequest, "internal", "Run a job to its end in this request (the RunPod endpoint only)"),
}
#: What the public gateway lets through ('execute' is for the RunPod endpoint itself).
PUBLIC_ACTIONS = {name: action for name, action in ACTIONS.items() if action.role != "internal"}


def service_info(settings: ServiceSettings | None) -> dict:
    """What a client needs before it uploads: the single source of the page's lists and limits."""
    return {"max_upload_bytes": settings.max_upload_bytes if settings else None, "video_types": VIDEO_TYPES,
            "presets": [preset.as_dict() for preset in PRESETS.values()], "artifacts": FILES, "risk_levels": RISK_LEVELS,
            "task_details": _task_details(), "result": result_schema()}


def _task_details() -> list[dict]:
    """The job's task details (``start_processing``'s ``params``) as a form needs them, from the one model."""
    group_of = {name: group for group, names in TASK_GROUPS.items() for name in names}
    fields = []
    for name, spec in AssessmentParams.model_json_schema()["properties"].items():
        if name not in group_of:
            continue  # follows from the others: asked once (the API still takes it)
        fields.append({"name": name, "type": spec["type"], "description": spec.get("description", name.replace("_", " ")),
                       "default": spec.get("default"), "minimum": spec.get("minimum"), "maximum": spec.get("maximum"),
                       "group": group_of[name]})
    return sorted(fields, key=lambda field: list(TASK_GROUPS).index(field["group"]))  # stable: the model's order in a group


class JobService:
    def __init__(self, app: TaskApp, settings: ServiceSettings, dispatcher: Dispatcher):
        self.app, self.settings, self.dispatcher = app, settings, dispatcher
        self.store = app.store
        self.analysis = app.tasks[ANALYZE_TASK]
        self.progress = ProgressRelay()
        app.middleware.add(self.progress)
        self._typical: tuple[float, float | None] | None = None
        self._parents: dict[str, str | None] = {}  # job id -> the job it is a part of (it never changes)

    # -- entry points ---------------------------------------------------------------------
    def handle_event(self, event: Any, on_progress: Callable[[dict], None] | None = None) -> dict:
        """RunPod's handler signature: ``{"input": {"action": ..., ...}}`` in, the answer out (RunPod adds ``output``).

        The endpoint is reachable only with the RunPod API key, so its caller is the key's holder: an operator.
        Nothing in the input can say otherwise (unknown fields are refused).
        """
        payload = event.get("input") if isinstance(event, dict) else None
        if not isinstance(payload, dict):
            return error_reply("invalid_input", 'The request must be {"input": {"action": ..., ...}}.')
        params = dict(payload)
        action = params.pop("action", None)
        return self.handle(action, params, Caller(client=None, operator=True, internal=True, on_progress=on_progress))

    def handle(self, action: Any, params: Any, caller: Caller) -> dict:
        try:
            return {"status": "success", **self._run_action(action, params, caller)}
        except (ServiceError, EngineError, CorruptStatus) as error:  # expected: each carries its code
            return error_reply(error.code, str(error))
        except StoreError as error:
            log.error("api.storage_error", action=action, error=str(error))
            return error_reply("storage_error", f"Storage is not available right now ({error.code}); try again shortly.")
        except Exception:  # noqa: BLE001 - the envelope is the contract; details go to the log
            reference = uuid.uuid4().hex[:10]
            log.exception("api.internal_error", action=action, reference=reference)
            return error_reply("internal_error", f"Something went wrong on our side (reference {reference}); it was logged.")

    def _run_action(self, name: Any, params: Any, caller: Caller) -> dict:
        action = ACTIONS.get(name) if isinstance(name, str) else None
        if action is None or (action.role == "internal" and not caller.internal):
            known = ", ".join(n for n, a in ACTIONS.items() if caller.internal or a.role != "internal")
            raise ServiceError(f"Unknown action; use one of: {known}.", code="unknown_action")
        if action.role != "user" and not caller.operator:
            raise ServiceError("This action needs an operator token.", code="forbidden")
        if not isinstance(params, dict):
            raise ServiceError("The action's parameters must be a JSON object.")
        try:
            request = action.request.model_validate(params)
        except ValidationError as error:
            raise ServiceError(f"Invalid request: {validation_message(error.errors())}") from None
        return getattr(self, name)(request, caller)

    # -- actions ----------------------------------------------------------------------------
    def generate_upload_url(self, request: UploadRequest, caller: Caller) -> dict:
        extension = request.filename.rsplit(".", 1)[-1].lower() if "." in request.filename else ""
        if extension not in VIDEO_TYPES:
            raise ServiceError(f"Only video files can be uploaded ({', '.join(VIDEO_TYPES)}).", code="invalid_file_type")
        if request.content_type and not request.content_type.lower().startswith(("video/", "application/octet-stream")):
            raise ServiceError(f"'{request.content_type[:40]}' is not a video content type.", code="invalid_file_type")
        self._check_size(request.size)
        key = upload_key(request.filename, _owner(caller))
        content_type = VIDEO_TYPES[extension]
        expires = self.settings.upload_url_expiry_s
        common = {"video_key": key, "size": request.size, "expires_in": expires, "content_type": content_type,
                  "max_bytes": self.settings.max_upload_bytes}
        if request.size <= self.settings.upload_part_bytes:
            # One PUT, signed for this length and only while the key is new: it cannot replace the video later.
            url = self.store.presign_put(key, expires, content_type, size=request.size, new_only=True)
            return {**common, "method": "PUT", "upload_url": url, "headers": {"Content-Type": content_type, "If-None-Match": "*"}}
        part_size, count = self._parts(request.size)
        return {**common, "method": "PARTS", "upload_id": self.store.start_upload(key, content_type), "part_size": part_size,
                "part_count": count}

    def sign_upload_parts(self, request: SignPartsRequest, caller: Caller) -> dict:
        self._check_upload_key(request.video_key, caller, UPLOAD_GONE)
        part_size, count = self._parts(request.size)
        if not all(1 <= number <= count for number in request.parts):
            raise ServiceError(f"Part numbers run from 1 to {count} for a file of this size.")
        self._uploaded_parts(request, caller)  # the upload must be in progress
        expires = self.settings.upload_url_expiry_s
        urls = {str(number): self.store.presign_part(request.video_key, request.upload_id, number,
                                                     _part_length(request.size, part_size, number), expires)
                for number in request.parts}
        return {"urls": urls, "expires_in": expires}

    def list_upload_parts(self, request: UploadPartsRequest, caller: Caller) -> dict:
        return {"parts": [{"number": part.number, "size": part.size} for part in self._uploaded_parts(request, caller)]}

    def complete_upload(self, request: SizedUploadRequest, caller: Caller) -> dict:
        # ownership first: another client's completed upload must not pass for a retry of theirs
        self._check_upload_key(request.video_key, caller, UPLOAD_GONE)
        received = self._parts_to_join(request, caller)
        if received is not None:
            self._join(request, received)
        check_video(self.store, request.video_key)  # a retried completion too: its first answer may have been this
        return {"video_key": request.video_key, "size": request.size}

    def _parts_to_join(self, request: SizedUploadRequest, caller: Caller) -> dict | None:
        """The parts storage has, by number; None when the upload was completed already (a retry after its
        answer was lost finds the video there: that is the answer it missed)."""
        try:
            return {part.number: part for part in self._uploaded_parts(request, caller)}
        except ServiceError:
            if self._is_stored(request):
                return None
            raise

    def _join(self, request: SizedUploadRequest, received: dict) -> None:
        """Join the parts into the video once every one is there at its size; never over an existing video."""
        part_size, count = self._parts(request.size)
        missing = [n for n in range(1, count + 1) if n not in received or received[n].size != _part_length(request.size, part_size, n)]
        if missing:
            listed = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
            raise ServiceError(f"The upload is not complete: part {listed} of {count} is missing or the wrong size; send it again.",
                               code="upload_incomplete")
        try:
            self.store.complete_upload(request.video_key, request.upload_id, [received[n] for n in range(1, count + 1)])
        except (PreconditionFailed, ObjectNotFound):
            # a completion retried while the first was joining the parts finds the video there already: that is success
            if not self._is_stored(request):
                raise ServiceError("This upload was completed or replaced already.", code="already_uploaded") from None

    def abort_upload(self, request: UploadPartsRequest, caller: Caller) -> dict:
        self._uploaded_parts(request, caller)  # a forged or finished upload is an error, not "aborted"
        self.store.abort_upload(request.video_key, request.upload_id)
        return {"aborted": True}

    def start_processing(self, request: StartRequest, caller: Caller) -> dict:
        self._check_upload_key(request.video_key, caller, NO_UPLOAD)
        try:
            upload = self.store.head(request.video_key)
        except ObjectNotFound:
            raise ServiceError(NO_UPLOAD, code="upload_not_found") from None
        if upload.size == 0:
            raise ServiceError("The uploaded file is empty.")
        self._check_size(upload.size)
        check_video(self.store, request.video_key)
        # the job pins the upload it was started on: the worker refuses the video if it was replaced since
        kwargs: dict[str, Any] = {"video_key": request.video_key, "quality": request.quality, "video_etag": upload.etag}
        if request.params is not None:
            kwargs["params"] = request.params.model_dump(exclude_defaults=True)
        if not request.blur_faces:
            kwargs["blur_faces"] = False
        if request.overlay is not None:
            kwargs["overlay"] = request.overlay
        # A client that retries (after a timeout, a lost answer) gets the job it already has, never a second run.
        # Keys are scoped by the client, so nobody reaches another client's job through a key.
        given = request.idempotency_key or json.dumps(kwargs, sort_keys=True)
        key = f"{caller.client or '-'}:{ANALYZE_TASK}:{given}"
        # The first dispatch is recorded in the document as it is created; its outcome follows it.
        record = _dispatch_record(1)
        doc = self.app.queue.enqueue(ANALYZE_TASK, [], kwargs, self.analysis.max_retries, owner=_owner(caller), idempotency_key=key,
                                     annotations={"dispatch": record} if self.dispatcher.mode != "worker" else None)
        if doc.annotations.get("dispatch", {}).get("by") == record["by"]:
            doc = self._send(doc.job_id, record["by"])  # this request created the job
        else:
            doc = self._dispatch(doc.job_id)  # the job existed: dispatch it only if it needs it
        failed = (doc.annotations.get("dispatch") or {}).get("error")
        message = (f"Queued, not yet started: {failed} It is handed over again when its status is read." if failed
                   else "Processing started")
        return {"job_id": doc.job_id, "dispatched": not failed, "message": message}

    def get_status(self, request: JobRequest, caller: Caller) -> dict:
        doc = self._own_job(request.job_id, caller)
        doc = self._keep_moving(doc)
        view = self.status_view(doc)
        if doc.state in CLAIMABLE_STATES and view["status"] == "queued":
            view["queue"] = self._queue_place(doc.job_id)
        return {"job_status": view, "caller": {"operator": caller.operator}}  # the page offers what this caller may do

    def generate_download_url(self, request: DownloadRequest, caller: Caller) -> dict:
        doc = self._own_job(request.job_id, caller)
        if doc.state != State.SUCCESS:
            raise ServiceError(f"Job {doc.job_id} has no results yet (it is {PUBLIC_STATUS[doc.state]}).", code="not_ready")
        if request.artifact not in doc.result_keys:
            raise ServiceError(f"Job {doc.job_id} has no {FILES[request.artifact]}: it was not asked for.", code="job_not_found")
        if not self.store.exists(doc.result_keys[request.artifact]):
            raise ServiceError(EXPIRED.format(job_id=doc.job_id), code="results_expired")
        return {"download_url": self._download_url(doc, request.artifact), "expires_in": self.settings.download_url_expiry_s}

    def list_jobs(self, request: ListRequest, caller: Caller) -> dict:
        page = list(itertools.islice(self.app.jobs.recent(state=request.state, before=request.cursor), request.limit + 1))
        more = len(page) > request.limit
        jobs = [{**self.job_view(doc, with_urls=False), **operator_fields(doc, self.app.queue.statuses(doc.waiting_for))}
                for doc in page[:request.limit]]
        return {"jobs": jobs, "next_cursor": jobs[-1]["job_id"] if more else None}

    def cancel_job(self, request: JobRequest, caller: Caller) -> dict:
        self._own_job(request.job_id, caller)
        by = "operator (api)" if caller.operator else "owner (api)"
        doc = self.app.queue.revoke(request.job_id, by=by, reason="cancelled through the API").doc
        message = "Cancelled; a running analysis stops at its next checkpoint."
        # withdraw the executor's requests too (the job's, and its parts'), so a queued one never takes a GPU
        requests = [request_id for job in [doc, *self.app.queue.statuses(doc.waiting_for)]
                    if (request_id := (job.annotations.get("dispatch") or {}).get("request_id"))]
        if requests:
            try:
                for request_id in requests:
                    self.dispatcher.cancel(request_id)
                message += f" Its {self.dispatcher.mode} request{'s were' if len(requests) > 1 else ' was'} withdrawn."
            except DispatchError as error:
                log.warning("dispatch.cancel_failed", job_id=doc.job_id, request_id=request_id, error=str(error))
                message += f" The {self.dispatcher.mode} request could not be withdrawn; it ends as soon as it sees the job cancelled."
        return {"job_status": self.status_view(doc), "message": message}

    def resume_job(self, request: JobRequest, caller: Caller) -> dict:
        doc = self.app.queue.resume(request.job_id, by="operator (api)").doc
        doc = self._dispatch(doc.job_id)
        return {"job_status": self.status_view(doc), "message": "Resumed from its last checkpoint."}

    def purge_jobs(self, request: PurgeRequest, caller: Caller) -> dict:
        """Old finished jobs and what they left; a video goes only when no job that can run or resume needs it."""
        victims = list(itertools.islice(finished_before(self.app, request.older_than_days), request.limit + 1))
        more, victims = len(victims) > request.limit, victims[:request.limit]
        if request.dry_run:
            listed = [{"job_id": doc.job_id, "state": str(doc.state), "finished_at": isoformat(doc.finished_at or doc.updated_at)}
                      for doc in victims]
            return {"would_delete": listed, "deleted": [], "kept": [], "more": more}
        users = VideoUsers(self.app)  # every document read once for the whole batch; each video checked again as it goes
        deleted = [doc.job_id for doc in victims if purge_job(self.app, doc.job_id, users)]
        kept = [doc.job_id for doc in victims if doc.job_id not in deleted]  # changed meanwhile (resumed, say)
        return {"would_delete": [], "deleted": deleted, "kept": kept, "more": more}

    def health(self, request: EmptyRequest, caller: Caller) -> dict:
        self.store.check()
        return {"healthy": True, "storage": self.store.provider, "dispatch": self.dispatcher.mode}

    def execute(self, request: JobRequest, caller: Caller) -> dict:
        """Run a job to its end in this request (what a RunPod ``execute`` job does)."""
        with self.progress.listening(request.job_id, caller.on_progress):
            doc = self.app.run_until_ready(request.job_id, default_worker_id("runpod"))
        return {"job_status": self.status_view(doc)}

    # -- helpers ----------------------------------------------------------------------------
    def _check_upload_key(self, video_key: str, caller: Caller, missing: str) -> None:
        """A well-formed upload key, made for this caller (operators may act on any): another client's upload
        is answered ``missing``, as if it were not there."""
        if not _UPLOAD_KEY.match(video_key):
            raise ServiceError("video_key must be a key returned by generate_upload_url.")
        if not caller.operator and not upload_owned_by(video_key, _owner(caller)):
            raise ServiceError(missing, code="upload_not_found")

    def _is_stored(self, request: SizedUploadRequest) -> bool:
        """Whether the upload's video is in storage with the size it was sent with (its parts joined)."""
        try:
            return self.store.head(request.video_key).size == request.size
        except ObjectNotFound:
            return False

    def _check_size(self, size: int) -> None:
        if size > self.settings.max_upload_bytes:
            limit = self.settings.max_upload_bytes / 1024**3
            raise ServiceError(f"The video is larger than the {limit:g} GB limit.", code="file_too_large")

    def _parts(self, size: int) -> tuple[int, int]:
        """(part size, part count) for a file of ``size`` bytes, which must be within the limit: the configured
        part size, grown to stay within S3's part count."""
        self._check_size(size)
        least = -(-size // MAX_PARTS)
        part_size = max(self.settings.upload_part_bytes, -(-least // MIN_PART_BYTES) * MIN_PART_BYTES)
        return part_size, -(-size // part_size)

    def _uploaded_parts(self, request: UploadPartsRequest, caller: Caller) -> list:
        self._check_upload_key(request.video_key, caller, UPLOAD_GONE)
        try:
            return self.store.uploaded_parts(request.video_key, request.upload_id)
        except ObjectNotFound:
            raise ServiceError(UPLOAD_GONE, code="upload_not_found") from None

    def _own_job(self, job_id: str, caller: Caller) -> JobStatus:
        doc = self.app.jobs.read(job_id).doc
        if not caller.operator and doc.owner != caller.client:
            raise JobNotFound(job_id)  # another client's job (or an operator's, owner unknown): do not reveal that it exists
        return doc

    def _dispatch(self, job_id: str) -> JobStatus:
        """Dispatch a claimable job that needs it, once: the dispatch is recorded with compare-and-swap first.

        A job needs a dispatch if it never had one, if it became claimable again (requeued after a lost
        worker, resumed) after its last dispatch, if that dispatch failed (retried after ``dispatch_retry_s``)
        or if it is older than the stall time.
        """
        if self.dispatcher.mode == "worker":
            return self.app.jobs.read(job_id).doc  # workers find queued jobs themselves: nothing to record
        stall = timedelta(seconds=self.settings.stall_seconds)
        retry = timedelta(seconds=self.settings.dispatch_retry_s)
        won = []

        def change(doc: JobStatus) -> JobStatus | None:
            won.clear()  # re-run after a lost race: only the attempt that is written counts
            now = utcnow()
            due = doc.state == State.PENDING or (doc.state == State.RETRY and (doc.not_before or now) <= now)
            # when it became claimable *again* (requeued, resumed); a job never claimed has only its creation
            again_since = doc.history[-1].at if len(doc.history) > 1 else None
            record = doc.annotations.get("dispatch") or {}
            last = parse_time(record["at"]) if record.get("at") else None
            failed_since = last if record.get("error") else None
            if not due or not (last is None or (again_since and last < again_since) or now - last >= stall
                               or (failed_since and now - failed_since >= retry)):
                return None
            dispatch = _dispatch_record(record.get("count", 0) + 1)
            won[:] = [dispatch["by"]]
            return doc.updated(annotations={**doc.annotations, "dispatch": dispatch})

        current = self.app.jobs.update(job_id, change).doc
        return self._send(job_id, won[0]) if won else current

    def _send(self, job_id: str, by: str) -> JobStatus:
        """Hand the job to the executor and record what came of it: the executor's request id, or the failure
        (the job stays queued, and a later status read tries again)."""
        try:
            request_id = self.dispatcher.dispatch(job_id)
            outcome = {"request_id": request_id} if request_id else {}
        except DispatchError as error:
            log.warning("dispatch.failed", job_id=job_id, error=str(error))
            outcome = {"error": str(error)}
        if not outcome:
            return self.app.jobs.read(job_id).doc

        def change(doc: JobStatus) -> JobStatus | None:
            record = doc.annotations.get("dispatch") or {}
            if record.get("by") != by:
                return None  # a later dispatch has its own record
            return doc.updated(annotations={**doc.annotations, "dispatch": {**record, **outcome}})

        return self.app.jobs.update(job_id, change).doc

    def _keep_moving(self, doc: JobStatus) -> JobStatus:
        """Serverless has no supervisor: a status read requeues a lost job and re-dispatches a stalled one.

        A job waiting for its parts is not dispatched while they run: its parts are kept moving instead.
        """
        if doc.state in RUNNING_STATES and doc.lease and doc.lease.expired():
            doc = self.app.queue.requeue_expired(doc.job_id, by="status check").doc
        if doc.state in CLAIMABLE_STATES and doc.waiting_for:
            unfinished = [part for part in self.app.queue.statuses(doc.waiting_for) if not part.ready]
            for part in unfinished:
                self._keep_moving(part)
            if unfinished:
                return doc
        if doc.state in CLAIMABLE_STATES and self.dispatcher.mode != "worker":
            doc = self._dispatch(doc.job_id)
        return doc

    def _queue_place(self, job_id: str) -> dict:
        """Where a queued job stands: jobs (not their parts) waiting before it, jobs running, and a guess at the wait,
        from the typical run of recent jobs or, before any finished, from what the running ones say they have left."""
        line = queue_line(self.app.jobs.open_markers(), job_id, self._parent_of, self._read_or_none)
        typical = self._typical_run_seconds() or line.run_s
        if typical is None:
            estimate = None
        elif line.running:  # each running job frees a worker about halfway through its run; the jobs ahead then take turns
            first = line.soonest_end_s if line.soonest_end_s is not None else typical * 0.5
            estimate = first + typical * line.ahead / line.running
        else:
            estimate = typical * line.ahead
        return {"position": line.ahead + 1, "ahead": line.ahead, "running": line.running,
                "estimate_s": None if estimate is None else round(estimate)}

    def _parent_of(self, job_id: str) -> str | None:
        if job_id not in self._parents:
            doc = self._read_or_none(job_id)
            self._parents[job_id] = doc.parent if doc else None
        return self._parents[job_id]

    def _read_or_none(self, job_id: str) -> JobStatus | None:
        try:
            return self.app.jobs.read(job_id).doc
        except JobNotFound:
            return None

    def _typical_run_seconds(self) -> float | None:
        """The median run time of the last 10 completed jobs, remembered for a minute (status reads are frequent)."""
        now = time.monotonic()
        if self._typical is None or now - self._typical[0] > 60:
            runs = [doc.run_seconds for doc in itertools.islice(self.app.jobs.recent(state=State.SUCCESS), 10) if doc.run_seconds]
            self._typical = (now, statistics.median(runs) if runs else None)
        return self._typical[1]

    def _download_url(self, doc: JobStatus, artifact: str) -> str:
        """A signed link that saves the file as ``<video stem>-<job id prefix>-<file>``: line_3-01m8jf3x-report.xlsx."""
        key = doc.result_keys[artifact]
        stem = (doc.request.kwargs.get("video_key") or "ergo").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        filename = f"{stem}-{doc.job_id[:8].lower()}-{key.rsplit('/', 1)[-1]}"
        return self.store.presign_get(key, self.settings.download_url_expiry_s, filename)

    def status_view(self, doc: JobStatus) -> dict:
        """One job's status as its owner sees it: :meth:`job_view`, and for a job analysed in parts, how they stand."""
        view = self.job_view(doc)
        parts = self.app.queue.statuses(doc.waiting_for)
        if parts:
            view.update(_parts_view(doc, parts, self.settings.gpu_price_per_second))
        return view

    def job_view(self, doc: JobStatus, with_urls: bool = True) -> dict:
        meta = doc.meta
        now = utcnow()
        quiet = (now - doc.updated_at).total_seconds()
        # a running job writes at least every heartbeat; three missed in a row, or a lapsed lease, is a stall
        stalled = doc.state in RUNNING_STATES and (quiet > 3 * self.app.settings.heartbeat_seconds
                                                   or (doc.lease is not None and doc.lease.expired()))
        key = doc.request.kwargs.get("video_key") or ""
        view = {
            "job_id": doc.job_id, "status": PUBLIC_STATUS[doc.state], "state": str(doc.state),
            "progress": round(doc.progress, 1), "stage": doc.stage,
            "frames_done": meta.get("frames_done"), "frames_total": meta.get("frames_total"), "eta_s": meta.get("eta_s"),
            "attempts": doc.attempts, "max_retries": doc.max_retries,
            "error": doc.error.message if doc.error else None, "error_type": doc.error.type if doc.error else None,
            "created_at": isoformat(doc.created_at), "updated_at": isoformat(doc.updated_at),
            "started_at": isoformat(doc.started_at) if doc.started_at else None,
            "finished_at": isoformat(doc.finished_at) if doc.finished_at else None,
            "quality": doc.request.kwargs.get("quality"), "video_key": key or None, "filename": key.rsplit("/", 1)[-1] or None,
            "run_seconds": round(doc.run_seconds, 1), "stalled": stalled, "quiet_s": round(quiet),
            # what resuming can change: not an expected failure (a file that is not a video fails the same way again)
            "resumable": can_resume(doc),
            "artifacts": sorted(name for name in doc.result_keys if name in FILES),
            "dispatch": {key: value for key, value in (doc.annotations.get("dispatch") or {}).items() if key != "by"} or None,
            "cost": {"gpu_seconds": round(doc.run_seconds, 1), "price_per_second": self.settings.gpu_price_per_second,
                     "estimated_usd": round(doc.run_seconds * self.settings.gpu_price_per_second, 5)},
        }
        if doc.state == State.SUCCESS:
            result = doc.result if isinstance(doc.result, dict) else {}
            view["summary"] = result.get("summary")
            model = result.get("model") or {}
            warnings = [model.get("warning"), *((result.get("summary") or {}).get("warnings") or [])]
            view["warning"] = " ".join(warning for warning in warnings if warning) or None
            # how the scores were made: which model, which inputs were measured and which assumed
            view["model"] = {key: model.get(key) for key in ("name", "weights")}
            view["inputs"] = result.get("inputs")
            view["pictures"] = [
                {**{k: picture.get(k) for k in ("time_s", "frame_index", "reasons", "face_blurred")},
                 "url": self.store.presign_get(doc.result_keys[key], self.settings.download_url_expiry_s) if with_urls else None}
                for picture in result.get("pictures") or [] if (key := f"{PICTURES}/{picture['file']}") in doc.result_keys]
            if with_urls and "pkl" in doc.result_keys:
                # the bucket's lifecycle rules may have removed the files while the status document stayed
                view["results_expired"] = not self.store.exists(doc.result_keys["pkl"])
                view["download_url"] = None if view["results_expired"] else self._download_url(doc, "pkl")
        return view


def _parts_view(doc: JobStatus, parts: list[JobStatus], price_per_second: float) -> dict:
    """How a job analysed in parts stands, from its parts: while it waits for them it is processing, with their
    progress together; its cost counts theirs."""
    gpu_seconds = doc.run_seconds + sum(part.run_seconds for part in parts)
    view: dict = {"parts": {"total": len(parts), "done": sum(part.state == State.SUCCESS for part in parts),
                            "running": sum(part.state in RUNNING_STATES for part in parts)},
                  "cost": {"gpu_seconds": round(gpu_seconds, 1), "price_per_second": price_per_second,
                           "estimated_usd": round(gpu_seconds * price_per_second, 5)}}
    if doc.state in CLAIMABLE_STATES:
        counted = [part for part in parts if part.meta.get("frames_total")]
        share = sum(part.progress for part in parts) / len(parts)  # each part runs 0-100 itself
        view.update(status="processing", progress=round(ANALYSIS_START + share * (ANALYSIS_END - ANALYSIS_START) / 100, 1),
                    stage=f"analysing poses in {len(parts)} parts ({view['parts']['done']} done, {view['parts']['running']} running)",
                    frames_done=sum(part.meta.get("frames_done") or 0 for part in counted) if counted else None,
                    frames_total=sum(part.meta["frames_total"] for part in counted) if len(counted) == len(parts) else None,
                    eta_s=max((part.meta.get("eta_s") or 0 for part in parts if part.state in RUNNING_STATES), default=None))
    return view


def _owner(caller: Caller) -> str:
    """Whose uploads and jobs the caller's are: its token's fingerprint, or the operator's (no token: CLI, RunPod)."""
    return caller.client or OPERATOR


def _part_length(size: int, part_size: int, number: int) -> int:
    """Bytes in part ``number`` (1-based) of a file of ``size`` bytes cut into ``part_size`` pieces."""
    return min(part_size, size - (number - 1) * part_size)


def _dispatch_record(count: int) -> dict:
    """A dispatch as the status document records it; ``by`` tells this dispatch's outcome from a later one's."""
    return {"at": isoformat(utcnow()), "count": count, "by": uuid.uuid4().hex[:12]}


def build_service(app: TaskApp | None = None, settings: ServiceSettings | None = None) -> JobService:
    """The service for the configured storage and dispatch mode; starts the process's app unless given one."""
    app = app or bootstrap.start(TASK_MODULES)
    settings = settings or ServiceSettings()
    return JobService(app, settings, make_dispatcher(settings, app))
