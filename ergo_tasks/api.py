"""The job API: the seed's handler contract, one implementation for every transport.

The RunPod handler (``deploy/handler.py``), the local gateway (``ergo serve``)
and the tests all call :meth:`JobService.handle`.  Every answer is either
``{"status": "success", ...}`` or ``{"status": "error", "error": "<words>",
"code": "<stable code>"}``: inputs are validated before storage is touched,
and no stack trace, credential or internal path ever reaches a client.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.assessment import AssessmentParams
from statestore import ObjectNotFound, StoreError
from statestore.keys import upload_key

from .app import TaskApp, default_worker_id
from .dispatch import Dispatcher, DispatchError
from .errors import validation_message
from .ids import InvalidJobId
from .jobstore import CorruptStatus, JobNotFound
from .models import JobStatus
from .queue import OperationRefused
from .states import CLAIMABLE_STATES, RUNNING_STATES, State
from .timeutil import isoformat, utcnow
from .video_job import ANALYZE_TASK

log = structlog.get_logger(__name__)

VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "avi": "video/x-msvideo", "mkv": "video/x-matroska",
               "webm": "video/webm", "m4v": "video/x-m4v"}
_UPLOAD_KEY = re.compile(r"^uploads/[0-9a-f]{32}/[A-Za-z0-9._-]{1,80}$")
PUBLIC_STATUS = {State.PENDING: "queued", State.RETRY: "queued", State.STARTED: "processing", State.PROGRESS: "processing",
                 State.SUCCESS: "completed", State.FAILURE: "failed", State.REVOKED: "cancelled"}
HTTP_STATUS = {"invalid_input": 400, "unknown_action": 400, "invalid_file_type": 400, "invalid_job_id": 400,
               "unauthorized": 401, "forbidden": 403, "job_not_found": 404, "upload_not_found": 404,
               "not_ready": 409, "invalid_state": 409, "file_too_large": 413, "rate_limited": 429,
               "internal_error": 500, "corrupt_status": 500, "dispatch_failed": 502, "upstream_unavailable": 502, "upstream_error": 502,
               "storage_error": 503, "invalid_signature": 403, "unsupported_media_type": 415}
OPERATOR_ACTIONS = frozenset({"list_jobs", "cancel_job", "resume_job"})
#: What the public gateway lets through ('execute' is for the RunPod endpoint itself).
PUBLIC_ACTIONS = frozenset({"generate_upload_url", "start_processing", "get_status", "generate_download_url", "health"}) | OPERATOR_ACTIONS


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ERGO_", env_file=".env", extra="ignore", populate_by_name=True)

    upload_url_expiry_s: int = Field(3600, ge=1, le=7 * 86400)
    download_url_expiry_s: int = Field(600, ge=10, le=7 * 86400)
    max_upload_bytes: int = Field(5 * 1024**3, gt=0)
    dispatch_mode: Literal["runpod", "worker", "inline"] = "worker"
    runpod_endpoint_id: str | None = Field(None, alias="RUNPOD_ENDPOINT_ID")
    runpod_api_key: SecretStr | None = Field(None, alias="RUNPOD_API_KEY")
    runpod_api_base: str = Field("https://api.runpod.ai/v2", alias="RUNPOD_API_BASE")
    gpu_price_per_second: float = Field(0.00013, ge=0)
    webhook_url: str | None = None
    #: A queued job not picked up this long after its dispatch is dispatched again by the next status read.
    stall_seconds: float = Field(120.0, gt=0)


class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# -- requests ---------------------------------------------------------------------------
class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UploadRequest(_Request):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str | None = Field(None, max_length=100)


class StartRequest(_Request):
    video_key: str = Field(min_length=1, max_length=300)
    quality: Literal["low", "medium", "high"] = "medium"
    params: AssessmentParams | None = None


class JobRequest(_Request):
    job_id: str = Field(min_length=1, max_length=64)


class DownloadRequest(JobRequest):
    artifact: Literal["pkl", "json", "csv", "xlsx"] = "pkl"


class ListRequest(_Request):
    state: State | None = None
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=64)


class EmptyRequest(_Request):
    pass


@dataclass(frozen=True)
class Caller:
    """Who is calling: ``client`` identifies a token (None when auth is off); operators see every job."""

    client: str | None = None
    operator: bool = True
    internal: bool = True  # may use the 'execute' action (the RunPod handler; never the public gateway)


@dataclass(frozen=True)
class Action:
    request: type[_Request]
    run: Callable[[Any, Caller], dict]
    operator: bool = False
    internal: bool = False


class JobService:
    def __init__(self, app: TaskApp, settings: ServiceSettings, dispatcher: Dispatcher):
        self.app, self.settings, self.dispatcher = app, settings, dispatcher
        self.store = app.store
        self.actions: dict[str, Action] = {
            "generate_upload_url": Action(UploadRequest, self.generate_upload_url),
            "start_processing": Action(StartRequest, self.start_processing),
            "get_status": Action(JobRequest, self.get_status),
            "generate_download_url": Action(DownloadRequest, self.generate_download_url),
            "list_jobs": Action(ListRequest, self.list_jobs, operator=True),
            "cancel_job": Action(JobRequest, self.cancel_job, operator=True),
            "resume_job": Action(JobRequest, self.resume_job, operator=True),
            "health": Action(EmptyRequest, self.health),
            "execute": Action(JobRequest, self.execute, operator=True, internal=True),
        }

    # -- entry points ---------------------------------------------------------------------
    def handle_event(self, event: Any) -> dict:
        """RunPod's handler signature: ``{"input": {"action": ..., ...}}`` in, the answer out (RunPod adds ``output``)."""
        payload = event.get("input") if isinstance(event, dict) else None
        if not isinstance(payload, dict):
            return self._error("invalid_input", 'The request must be {"input": {"action": ..., ...}}.')
        params = dict(payload)
        action = params.pop("action", None)
        # The endpoint is reachable only with the RunPod API key, which the gateway holds; the gateway
        # passes who its caller is, so ownership and the operator role hold through it too.
        client, operator = params.pop("_client", None), params.pop("_operator", True)
        return self.handle(action, params, Caller(client=client if isinstance(client, str) else None, operator=operator is True))

    def handle(self, action: Any, params: Any, caller: Caller) -> dict:
        try:
            return {"status": "success", **self._dispatch_action(action, params, caller)}
        except ApiError as error:
            return self._error(error.code, str(error))
        except InvalidJobId as error:
            return self._error("invalid_job_id", str(error))
        except JobNotFound as error:
            return self._error("job_not_found", str(error))
        except OperationRefused as error:
            return self._error("invalid_state", str(error))
        except CorruptStatus as error:
            return self._error("corrupt_status", str(error))
        except DispatchError as error:
            return self._error("dispatch_failed", str(error))
        except StoreError as error:
            log.error("api.storage_error", action=action, error=str(error))
            return self._error("storage_error", f"Storage is not available right now ({error.code}); try again shortly.")
        except Exception:  # noqa: BLE001 - the envelope is the contract; details go to the log
            reference = uuid.uuid4().hex[:10]
            log.exception("api.internal_error", action=action, reference=reference)
            return self._error("internal_error", f"Something went wrong on our side (reference {reference}); it was logged.")

    def _dispatch_action(self, name: Any, params: Any, caller: Caller) -> dict:
        action = self.actions.get(name) if isinstance(name, str) else None
        if action is None or (action.internal and not caller.internal):
            known = ", ".join(n for n, a in self.actions.items() if caller.internal or not a.internal)
            raise ApiError("unknown_action", f"Unknown action; use one of: {known}.")
        if action.operator and not caller.operator:
            raise ApiError("forbidden", "This action needs an operator token.")
        if not isinstance(params, dict):
            raise ApiError("invalid_input", "The action's parameters must be a JSON object.")
        try:
            request = action.request.model_validate(params)
        except ValidationError as error:
            raise ApiError("invalid_input", f"Invalid request: {validation_message(error.errors())}") from None
        return action.run(request, caller)

    @staticmethod
    def _error(code: str, message: str) -> dict:
        return {"status": "error", "error": message, "code": code}

    # -- actions ----------------------------------------------------------------------------
    def generate_upload_url(self, request: UploadRequest, caller: Caller) -> dict:
        extension = request.filename.rsplit(".", 1)[-1].lower() if "." in request.filename else ""
        if extension not in VIDEO_TYPES:
            raise ApiError("invalid_file_type", f"Only video files can be uploaded ({', '.join(VIDEO_TYPES)}).")
        if request.content_type and not request.content_type.lower().startswith(("video/", "application/octet-stream")):
            raise ApiError("invalid_file_type", f"'{request.content_type[:40]}' is not a video content type.")
        key = upload_key(request.filename)
        content_type = VIDEO_TYPES[extension]
        expires = self.settings.upload_url_expiry_s
        return {"upload_url": self.store.presign_put(key, expires, content_type), "video_key": key, "expires_in": expires,
                "content_type": content_type, "method": "PUT", "max_bytes": self.settings.max_upload_bytes}

    def start_processing(self, request: StartRequest, caller: Caller) -> dict:
        if not _UPLOAD_KEY.match(request.video_key):
            raise ApiError("invalid_input", "video_key must be a key returned by generate_upload_url.")
        try:
            size = self.store.head(request.video_key).size
        except ObjectNotFound:
            raise ApiError("upload_not_found", "No upload was found for that video_key; upload the video first.") from None
        if size == 0:
            raise ApiError("invalid_input", "The uploaded file is empty.")
        if size > self.settings.max_upload_bytes:
            limit = self.settings.max_upload_bytes / 1024**3
            raise ApiError("file_too_large", f"The video is larger than the {limit:g} GB limit.")
        kwargs: dict[str, Any] = {"video_key": request.video_key, "quality": request.quality}
        if request.params is not None:
            kwargs["params"] = request.params.model_dump(exclude_defaults=True)
        task = self.app.tasks.get(ANALYZE_TASK)
        doc = self.app.queue.enqueue(ANALYZE_TASK, [], kwargs, task.max_retries if task else 2, owner=caller.client)
        self._dispatch(doc.job_id)
        return {"job_id": doc.job_id, "message": "Processing started"}

    def get_status(self, request: JobRequest, caller: Caller) -> dict:
        doc = self._own_job(request.job_id, caller)
        doc = self._keep_moving(doc)
        return {"job_status": self.job_view(doc)}

    def generate_download_url(self, request: DownloadRequest, caller: Caller) -> dict:
        doc = self._own_job(request.job_id, caller)
        if doc.state != State.SUCCESS or request.artifact not in doc.result_keys:
            raise ApiError("not_ready", f"Job {doc.job_id} has no results yet (it is {PUBLIC_STATUS[doc.state]}).")
        return {"download_url": self._download_url(doc, request.artifact), "expires_in": self.settings.download_url_expiry_s}

    def list_jobs(self, request: ListRequest, caller: Caller) -> dict:
        page = list(itertools.islice(self.app.jobs.recent(state=request.state, before=request.cursor), request.limit + 1))
        more = len(page) > request.limit
        jobs = [self.job_view(doc, with_urls=False) for doc in page[:request.limit]]
        return {"jobs": jobs, "next_cursor": jobs[-1]["job_id"] if more else None}

    def cancel_job(self, request: JobRequest, caller: Caller) -> dict:
        doc = self.app.queue.revoke(request.job_id, by="operator (api)", reason="cancelled through the API").doc
        return {"job_status": self.job_view(doc), "message": "Cancelled; a running analysis stops at its next checkpoint."}

    def resume_job(self, request: JobRequest, caller: Caller) -> dict:
        doc = self.app.queue.resume(request.job_id, by="operator (api)").doc
        doc = self._dispatch(doc.job_id)
        return {"job_status": self.job_view(doc), "message": "Resumed from its last checkpoint."}

    def health(self, request: EmptyRequest, caller: Caller) -> dict:
        self.store.check()
        return {"healthy": True, "storage": self.store.provider, "dispatch": self.dispatcher.mode}

    def execute(self, request: JobRequest, caller: Caller) -> dict:
        """Run a job to its end in this request (what a RunPod ``execute`` job does)."""
        doc = self.app.run_until_ready(request.job_id, default_worker_id("runpod"))
        return {"job_status": self.job_view(doc)}

    # -- helpers ----------------------------------------------------------------------------
    def _own_job(self, job_id: str, caller: Caller) -> JobStatus:
        doc = self.app.jobs.read(job_id).doc
        if not caller.operator and doc.owner is not None and doc.owner != caller.client:
            raise JobNotFound(job_id)  # another client's job: do not reveal that it exists
        return doc

    def _dispatch(self, job_id: str) -> JobStatus:
        """Dispatch a claimable job that needs it, once: the dispatch is recorded with compare-and-swap first.

        A job needs a dispatch if it never had one, if it became claimable again (requeued after a lost
        worker, resumed) after its last dispatch, or if that dispatch is older than the stall time.
        """
        stall = timedelta(seconds=self.settings.stall_seconds)
        won = []

        def change(doc: JobStatus) -> JobStatus | None:
            won.clear()  # re-run after a lost race: only the attempt that is written counts
            now = utcnow()
            due = doc.state == State.PENDING or (doc.state == State.RETRY and (doc.not_before or now) <= now)
            claimable_since = doc.history[-1].at if doc.history else doc.created_at
            last = doc.dispatched_at
            if not due or not (last is None or last < claimable_since or now - last >= stall):
                return None
            won.append(True)
            return doc.updated(dispatched_at=now, dispatches=doc.dispatches + 1)

        current = self.app.jobs.update(job_id, change).doc
        if won:
            try:
                self.dispatcher.dispatch(job_id)
            except DispatchError as error:
                log.warning("dispatch.failed", job_id=job_id, error=str(error))
            current = self.app.jobs.read(job_id).doc
        return current

    def _keep_moving(self, doc: JobStatus) -> JobStatus:
        """Serverless has no supervisor: a status read requeues a lost job and re-dispatches a stalled one."""
        if doc.state in RUNNING_STATES and doc.lease and doc.lease.expired():
            doc = self.app.queue.requeue_expired(doc.job_id, by="status check").doc
        if doc.state in CLAIMABLE_STATES and self.dispatcher.mode != "worker":
            doc = self._dispatch(doc.job_id)
        return doc

    def _download_url(self, doc: JobStatus, artifact: str) -> str:
        key = doc.result_keys[artifact]
        filename = f"ergo-{doc.job_id}-{key.rsplit('/', 1)[-1]}"
        return self.store.presign_get(key, self.settings.download_url_expiry_s, filename)

    def job_view(self, doc: JobStatus, with_urls: bool = True) -> dict:
        meta = doc.meta
        view = {
            "job_id": doc.job_id, "status": PUBLIC_STATUS[doc.state], "state": str(doc.state),
            "progress": round(doc.progress, 1), "stage": doc.stage,
            "frames_done": meta.get("frames_done"), "frames_total": meta.get("frames_total"), "eta_s": meta.get("eta_s"),
            "attempts": doc.attempts, "max_retries": doc.max_retries,
            "error": doc.error.message if doc.error else None, "error_type": doc.error.type if doc.error else None,
            "created_at": isoformat(doc.created_at), "updated_at": isoformat(doc.updated_at),
            "started_at": isoformat(doc.started_at) if doc.started_at else None,
            "finished_at": isoformat(doc.finished_at) if doc.finished_at else None,
            "quality": doc.request.kwargs.get("quality"), "video_key": doc.request.kwargs.get("video_key"),
            "artifacts": sorted(doc.result_keys),
            "cost": {"gpu_seconds": round(doc.run_seconds, 1), "price_per_second": self.settings.gpu_price_per_second,
                     "estimated_usd": round(doc.run_seconds * self.settings.gpu_price_per_second, 5)},
        }
        if doc.state == State.SUCCESS:
            result = doc.result if isinstance(doc.result, dict) else {}
            view["summary"] = result.get("summary")
            model = result.get("model") or {}
            view["warning"] = model.get("warning")
            # how the scores were made: which model, which inputs were measured and which assumed
            view["model"] = {key: model.get(key) for key in ("name", "weights")}
            view["inputs"] = result.get("inputs")
            if with_urls and "pkl" in doc.result_keys:
                view["download_url"] = self._download_url(doc, "pkl")
        return view


def build_service(app: TaskApp | None = None, settings: ServiceSettings | None = None) -> JobService:
    """The service for the configured storage, dispatch mode and webhook."""
    from . import default_app
    from .dispatch import make_dispatcher
    from .notify import webhook_notifier

    app = app or default_app
    settings = settings or ServiceSettings()
    if ANALYZE_TASK not in app.tasks:
        from .video_job import register

        register(app)
    key = settings.runpod_api_key.get_secret_value() if settings.runpod_api_key else None
    dispatcher = make_dispatcher(settings.dispatch_mode, app, endpoint_id=settings.runpod_endpoint_id, api_key=key,
                                 base_url=settings.runpod_api_base)
    if settings.webhook_url and not any(getattr(h, "__name__", "") == "webhook_notifier" for h in app.on_finish):
        app.on_finish.append(webhook_notifier(settings.webhook_url))
    return JobService(app, settings, dispatcher)
