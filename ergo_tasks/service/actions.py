"""The job API: the seed's handler contract, one implementation for every transport.

The RunPod handler (``deploy/handler.py``), the HTTP gateway (``ergo serve``)
and the tests all call :meth:`JobService.handle`.  Every answer is either
``{"status": "success", ...}`` or ``{"status": "error", "error": "<words>",
"code": "<stable code>"}``: inputs are validated before storage is touched,
and no stack trace, credential or internal path ever reaches a client.

Each action is one row of :data:`ACTIONS` (request model, who may call it,
one line for the API docs) plus one method of :class:`JobService` of the same
name; the gateway publishes routes from that table, so adding an action is
one row and one method.  The upload actions are in :mod:`.uploads`, the
request models in :mod:`.requests`, the dispatch bookkeeping in
:mod:`.dispatching` and what a job looks like to its caller in :mod:`.views`.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from pydantic import ValidationError

from pipeline.assessment import TASK_GROUPS, AssessmentParams
from pipeline.ergonomics import RISK_LEVELS
from pipeline.presets import PRESETS
from pipeline.result_model import result_schema
from pipeline.results import ARTIFACT_LABELS, FILES
from pipeline.task_record import form_fields
from statestore import StoreError

from .. import bootstrap
from ..analysis import ANALYZE_TASK, TASK_MODULES
from ..analysis.records import change_record, files_current, record_annotations, sync_record_files
from ..analysis.retention import VideoUsers, finished_before, purge_job
from ..app import TaskApp, default_worker_id
from ..errors import CorruptStatus, EngineError, JobNotFound, validation_message
from ..states import CLAIMABLE_STATES, State
from ..status import JobStatus
from ..timeutil import isoformat
from .comparing import Comparisons
from .dispatching import DispatchBook, QueuePlace
from .errors import ServiceError, error_reply
from .executors import Dispatcher, make_dispatcher
from .history import own_jobs
from .progress import ProgressRelay
from .requests import (
    ActionRequest,
    Caller,
    CompareRequest,
    DownloadRequest,
    EmptyRequest,
    JobRequest,
    ListRequest,
    MyJobsRequest,
    PurgeRequest,
    RecordRequest,
    RescoreRequest,
    SignPartsRequest,
    SizedUploadRequest,
    StartRequest,
    UploadPartsRequest,
    UploadRequest,
)
from .rescoring import RescoreActions
from .settings import ServiceSettings
from .uploads import VIDEO_TYPES, UploadActions
from .views import PUBLIC_STATUS, JobViews, operator_fields

log = structlog.get_logger(__name__)

EXPIRED = "The result files of job {job_id} have expired and were deleted; analyse the video again to get them."

Role = Literal["user", "operator", "internal"]


@dataclass(frozen=True)
class Action:
    """One row of the API: what it takes, who may call it, and what it does in a line."""

    request: type[ActionRequest]
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
    "rescore_job": Action(RescoreRequest, "user", "Score a completed job's poses again with new task details or a time range, as a new job"),
    "generate_download_url": Action(DownloadRequest, "user", "A signed URL for one result file"),
    "compare_jobs": Action(CompareRequest, "user", "Two of your completed jobs side by side (before and after), with a PDF"),
    "health": Action(EmptyRequest, "user", "Storage and dispatch health"),
    "list_jobs": Action(ListRequest, "operator", "Recent jobs (operator)"),
    "list_my_jobs": Action(MyJobsRequest, "user", "Your own jobs, newest first, with their task record, verdict and scores"),
    "cancel_job": Action(JobRequest, "user", "Cancel a job (your own; an operator's, any)"),
    "update_record": Action(RecordRequest, "user", "Change a job's task record (station, task, department, assessor, "
                                                   "notes); a completed job's PDF and workbook are written again"),
    "resume_job": Action(JobRequest, "operator", "Resume a failed or cancelled job from its checkpoint (operator)"),
    "purge_jobs": Action(PurgeRequest, "operator", "Delete old finished jobs, their files and the videos no job needs (operator)"),
    "execute": Action(JobRequest, "internal", "Run a job to its end in this request (the RunPod endpoint only)"),
}
#: What the public gateway lets through ('execute' is for the RunPod endpoint itself).
PUBLIC_ACTIONS = {name: action for name, action in ACTIONS.items() if action.role != "internal"}


def service_info(settings: ServiceSettings | None) -> dict:
    """What a client needs before it uploads: the single source of the page's lists and limits."""
    return {"max_upload_bytes": settings.max_upload_bytes if settings else None, "video_types": VIDEO_TYPES,
            "presets": [preset.as_dict() for preset in PRESETS.values()], "artifacts": FILES, "artifact_labels": ARTIFACT_LABELS,
            "risk_levels": RISK_LEVELS,
            "task_details": _task_details(), "task_record": form_fields(), "result": result_schema()}


def _task_details() -> list[dict]:
    """The job's task details (``start_processing``'s ``params``) as a form needs them, from the one model."""
    group_of = {name: group for group, names in TASK_GROUPS.items() for name in names}
    fields = []
    for name, spec in AssessmentParams.model_json_schema()["properties"].items():
        if name not in group_of:
            continue  # follows from the others: asked once (the API still takes it)
        kind = next((option for option in spec.get("anyOf", ()) if option.get("type") != "null"), spec)  # optional: unset is null
        fields.append({"name": name, "type": kind["type"], "description": spec.get("description", name.replace("_", " ")),
                       "default": spec.get("default"), "minimum": kind.get("minimum"), "maximum": kind.get("maximum"),
                       "group": group_of[name]})
    return sorted(fields, key=lambda field: list(TASK_GROUPS).index(field["group"]))  # stable: the model's order in a group


class JobService(UploadActions, RescoreActions):
    """Every action of :data:`ACTIONS` as a method of the same name, behind one error envelope (:meth:`handle`).

    The upload actions come from :class:`~.uploads.UploadActions`, the re-score from :class:`~.rescoring.RescoreActions`; hand-overs to the executor go through
    :attr:`dispatching`, and what a caller sees of a job is made by :attr:`views`.
    """

    def __init__(self, app: TaskApp, settings: ServiceSettings, dispatcher: Dispatcher):
        self.app, self.settings, self.dispatcher = app, settings, dispatcher
        self.store = app.store
        self.analysis = app.tasks[ANALYZE_TASK]
        self.progress = ProgressRelay()
        app.middleware.add(self.progress)
        self.dispatching = DispatchBook(app, settings, dispatcher)
        self.queue_place = QueuePlace(app)
        self.views = JobViews(app, settings)
        self.comparisons = Comparisons(self.store, settings)

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

    # -- the job actions (the upload actions are UploadActions') --------------------------------
    def start_processing(self, request: StartRequest, caller: Caller) -> dict:
        upload = self._uploaded_video(request.video_key, caller)
        # the job pins the upload it was started on: the worker refuses the video if it was replaced since
        kwargs: dict[str, Any] = {"video_key": request.video_key, "quality": request.quality, "video_etag": upload.etag}
        if request.params is not None:
            kwargs["params"] = request.params.model_dump(exclude_defaults=True)
        if not request.blur_faces:
            kwargs["blur_faces"] = False
        if request.overlay is not None:
            kwargs["overlay"] = request.overlay
        kwargs.update(request.range_kwargs())
        # the record is not an input of the analysis: kept with the job, out of the key (a retry gets the same job)
        return self._enqueue(ANALYZE_TASK, kwargs, self.analysis.max_retries, caller, request.idempotency_key,
                             record_annotations(request.record))

    def _enqueue(self, task: str, kwargs: dict[str, Any], max_retries: int, caller: Caller, idempotency_key: str | None,
                 annotations: dict[str, Any]) -> dict:
        """Create the caller's job of ``task`` once (``annotations`` kept with it) and hand it over: what a start answers."""
        # A client that retries (after a timeout, a lost answer) gets the job it already has, never a second run.
        # Keys are scoped by the client, so nobody reaches another client's job through a key.
        given = idempotency_key or json.dumps(kwargs, sort_keys=True)
        key = f"{caller.client or '-'}:{task}:{given}"
        doc = self.dispatching.start(lambda dispatch, runner: self.app.queue.enqueue(
            task, [], kwargs, max_retries, owner=caller.owner, idempotency_key=key, annotations={**(dispatch or {}), **annotations},
            claim_for=runner))
        failed = (doc.annotations.get("dispatch") or {}).get("error")
        message = (f"Queued, not yet started: {failed} It is handed over again when its status is read." if failed
                   else "Processing started")
        return {"job_id": doc.job_id, "dispatched": not failed, "message": message}

    def get_status(self, request: JobRequest, caller: Caller) -> dict:
        doc = self._own_job(request.job_id, caller)
        doc = self.dispatching.keep_moving(doc)
        sync_record_files(self.app, doc)  # a record edited while the job wrote its files: they follow now
        view = self.views.status(doc)
        if doc.state in CLAIMABLE_STATES and view["status"] == "queued":
            view["queue"] = self.queue_place.of(doc.job_id)
        return {"job_status": view, "caller": {"operator": caller.operator}}  # the page offers what this caller may do

    def generate_download_url(self, request: DownloadRequest, caller: Caller) -> dict:
        doc = self._own_job(request.job_id, caller)
        if doc.state != State.SUCCESS:
            raise ServiceError(f"Job {doc.job_id} has no results yet (it is {PUBLIC_STATUS[doc.state]}).", code="not_ready")
        if request.artifact not in doc.result_keys:
            raise ServiceError(f"Job {doc.job_id} has no {FILES[request.artifact]}: it was not asked for.", code="job_not_found")
        if not self.store.exists(doc.result_keys[request.artifact]):
            raise ServiceError(EXPIRED.format(job_id=doc.job_id), code="results_expired")
        return {"download_url": self.views.download_url(doc, request.artifact), "expires_in": self.settings.download_url_expiry_s}

    def compare_jobs(self, request: CompareRequest, caller: Caller) -> dict:
        """Before and after: another client's job is refused as get_status refuses it, an unfinished one in words."""
        return self.comparisons.answer(self._own_job(request.before, caller), self._own_job(request.after, caller))

    def list_jobs(self, request: ListRequest, caller: Caller) -> dict:
        page = list(itertools.islice(self.app.jobs.recent(state=request.state, before=request.cursor), request.limit + 1))
        more = len(page) > request.limit
        jobs = [{**self.views.job(doc, with_urls=False), **operator_fields(doc, self.app.queue.statuses(doc.waiting_for))}
                for doc in page[:request.limit]]
        return {"jobs": jobs, "next_cursor": jobs[-1]["job_id"] if more else None}

    def list_my_jobs(self, request: MyJobsRequest, caller: Caller) -> dict:
        """The caller's own jobs only, whoever calls (an operator too: the operator's list is ``list_jobs``)."""
        return own_jobs(self.app.jobs.recent(before=request.cursor), caller.owner, request)

    def cancel_job(self, request: JobRequest, caller: Caller) -> dict:
        self._own_job(request.job_id, caller)
        by = "operator (api)" if caller.operator else "owner (api)"
        doc = self.app.queue.revoke(request.job_id, by=by, reason="cancelled through the API").doc
        message = "Cancelled; a running analysis stops at its next checkpoint." + self.dispatching.withdraw(doc)
        return {"job_status": self.views.status(doc), "message": message}

    def update_record(self, request: RecordRequest, caller: Caller) -> dict:
        """Store the job's new task record (nothing else of the job changes) and, for a completed job, write its PDF
        report and workbook again from the stored result: nothing is analysed or scored again."""
        self._own_job(request.job_id, caller)
        doc = change_record(self.app.jobs, request.job_id, request.record).doc
        rewritten = sync_record_files(self.app, doc)
        view = self.views.status(doc)
        # not written here and not current: another rewrite holds the files, and writes this record after its own
        pending = not rewritten and not files_current(self.app.jobs.read(doc.job_id).doc)
        return {"job_status": view, "files_rewritten": rewritten, "message": _record_saved(view, rewritten, pending)}

    def resume_job(self, request: JobRequest, caller: Caller) -> dict:
        doc = self.app.queue.resume(request.job_id, by="operator (api)").doc
        doc = self.dispatching.dispatch(doc.job_id)
        return {"job_status": self.views.status(doc), "message": "Resumed from its last checkpoint."}

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
        return {"job_status": self.views.status(doc)}

    def _own_job(self, job_id: str, caller: Caller) -> JobStatus:
        doc = self.app.jobs.read(job_id).doc
        if not caller.operator and doc.owner != caller.client:
            raise JobNotFound(job_id)  # another client's job (or an operator's, owner unknown): do not reveal that it exists
        return doc


def _record_saved(view: dict, rewritten: bool, pending: bool = False) -> str:
    """What saving a record did, in words, from the job's view after it (``pending``: the files are being written)."""
    if view["status"] == "completed":
        if view.get("results_expired"):
            return "Task record saved. The job's result files have expired, so no file shows it."
        if pending:
            return "Task record saved; the PDF report and the workbook are being written again and will show it shortly."
        return ("Task record saved; the PDF report and the workbook were written again with it." if rewritten
                else "Task record saved; the PDF report and the workbook already show it.")
    if view["status"] in ("queued", "processing"):
        return "Task record saved; the PDF report and the workbook will show it when the analysis completes."
    return "Task record saved."


def build_service(app: TaskApp | None = None, settings: ServiceSettings | None = None) -> JobService:
    """The service for the configured storage and dispatch mode; starts the process's app unless given one."""
    app = app or bootstrap.start(TASK_MODULES)
    settings = settings or ServiceSettings()
    return JobService(app, settings, make_dispatcher(settings, app))
