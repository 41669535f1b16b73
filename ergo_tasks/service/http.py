"""``ergo serve``: the local gateway.

One HTTP server that serves the web page (``frontend/``), exposes the job API
as JSON (``POST /api/<action>``, OpenAPI at ``/docs``), and, for the embedded
``local`` storage, receives uploads and serves downloads through the signed
URLs that backend issues.

Backends:

``embedded``  the job service runs here, on the configured storage, with
              in-process workers: the whole system on one machine
``runpod``    every action is forwarded to a RunPod endpoint; the API key
              stays on this server, never in a browser

Access control (when ``ERGO_API_TOKENS`` / ``ERGO_API_TOKENS_FILE`` name
tokens): ``Authorization: Bearer <token>`` on every API call; tokens marked
``:operator`` may also list, cancel and resume.  Each client (token, or IP
address without auth) has a token-bucket rate limit; past it, a 429 says when
to come back.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import threading
import time
from typing import Any

import structlog
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from statestore import ObjectNotFound, StorageSettings, open_store
from statestore.errors import InvalidKey, SignatureInvalid
from statestore.local import LocalStore

from .. import bootstrap
from ..analysis import TASK_MODULES
from ..errors import validation_message
from ..worker import Worker
from .actions import PUBLIC_ACTIONS, Caller, JobService, build_service, service_info
from .errors import HTTP_STATUS, UpstreamUnavailable, error_reply, http_status
from .runpod import RunPodClient
from .settings import GatewaySettings

log = structlog.get_logger(__name__)


class RateLimiter:
    """A token bucket per client: ``burst`` requests at once, refilled at ``per_minute``."""

    def __init__(self, per_minute: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = per_minute / 60.0, float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 if the request may go ahead, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate


class RunPodForwarder:
    """Sends an action to the RunPod endpoint's ``/runsync`` and returns the handler's answer."""

    def __init__(self, client: RunPodClient):
        self.client = client

    def __call__(self, action: str, params: dict, caller: Caller) -> dict:
        try:
            answer = self.client.runsync({**params, "action": action, "_client": caller.client, "_operator": caller.operator})
        except UpstreamUnavailable as error:
            log.warning("forward.failed", action=action, error=str(error))
            return error_reply("upstream_unavailable", "The processing service did not answer; try again shortly.")
        output = answer.get("output")
        if answer.get("status") == "FAILED" and isinstance(answer.get("error"), str):
            # RunPod lifts "error" out of the handler's envelope; put the envelope back together.
            code = output.get("code") if isinstance(output, dict) else None
            return error_reply(code if code in HTTP_STATUS else "upstream_error", answer["error"][:500])
        if answer.get("status") != "COMPLETED" or not isinstance(output, dict):
            return error_reply("upstream_unavailable", "The processing service is busy; try again shortly.")
        return output


def _reply(body: dict, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=http_status(body), headers=headers)


def create_gateway(settings: GatewaySettings, service: JobService | None = None, forwarder: RunPodForwarder | None = None,
                   workers: list | None = None) -> FastAPI:
    """The FastAPI app; ``service`` for the embedded backend, ``forwarder`` for runpod."""
    tokens = settings.tokens()
    limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        threads = [threading.Thread(target=w.run, name=f"ergo-worker-{i}", daemon=True) for i, w in enumerate(workers or [])]
        for thread in threads:
            thread.start()
        yield
        for worker in workers or []:
            worker.request_stop()
        for thread in threads:
            thread.join(timeout=30)

    app = FastAPI(title="ergo job API", version="1", lifespan=lifespan,
                  description="Ergonomic risk assessment of work videos. Every answer is "
                              '`{"status": "success", ...}` or `{"status": "error", "error", "code"}`.')
    origins = settings.origins()
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "PUT"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        if error.errors()[0].get("type") == "json_invalid":
            return _reply(error_reply("invalid_input", "Invalid request: the body is not valid JSON."))
        return _reply(error_reply("invalid_input", f"Invalid request: {validation_message(error.errors())}"))

    def caller_of(request: Request) -> Caller | JSONResponse:
        if not tokens:
            return Caller(client=None, operator=True, internal=False)
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if token not in tokens:
            return _reply(error_reply("unauthorized", "A valid API token is needed (Authorization: Bearer <token>)."))
        return Caller(client=hashlib.sha256(token.encode()).hexdigest()[:16], operator=tokens[token] == "operator", internal=False)

    def call(action: str, request: Request, body: Any) -> JSONResponse:
        caller = caller_of(request)
        if isinstance(caller, JSONResponse):
            return caller
        wait = limiter.take(caller.client or (request.client.host if request.client else "unknown"))
        if wait:
            seconds = max(1, int(wait + 0.999))
            return _reply(error_reply("rate_limited", f"Too many requests; try again in {seconds} s."), {"Retry-After": str(seconds)})
        if action not in PUBLIC_ACTIONS:
            return _reply(error_reply("unknown_action", f"Unknown action; use one of: {', '.join(sorted(PUBLIC_ACTIONS))}."))
        params = body if isinstance(body, dict) else {}
        params = {k: v for k, v in params.items() if not k.startswith("_")}  # never trust caller-supplied identity
        if forwarder is not None:
            if PUBLIC_ACTIONS[action].role == "operator" and not caller.operator:
                return _reply(error_reply("forbidden", "This action needs an operator token."))
            return _reply(forwarder(action, params, caller))
        return _reply(service.handle(action, params, caller))

    def route(action: str, model: type, summary: str) -> None:
        async def endpoint(request: Request, body=Body(default=None)) -> JSONResponse:  # noqa: B008 - FastAPI's idiom
            raw = await request.json() if await request.body() else {}
            return call(action, request, raw)

        # Real types (not strings) so FastAPI validates the body and documents it in the OpenAPI spec.
        endpoint.__annotations__ = {"request": Request, "body": model | None, "return": JSONResponse}
        app.post(f"/api/{action}", summary=summary, name=action)(endpoint)

    for name, action in PUBLIC_ACTIONS.items():
        route(name, action.request, action.summary)

    @app.post("/api/{action}", include_in_schema=False)
    async def unknown_action(action: str, request: Request) -> JSONResponse:
        return call(action, request, None)

    @app.get("/api/info", summary="What the page needs to know before uploading")
    async def info() -> dict:
        return {**service_info(service.settings if service else None), "auth_required": bool(tokens)}

    store = service.store if service is not None else None
    if isinstance(store, LocalStore):
        _add_local_storage_routes(app, store, service.settings.max_upload_bytes)

    if (settings.frontend_dir / "index.html").exists():
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="frontend")
    return app


def _add_local_storage_routes(app: FastAPI, store: LocalStore, max_bytes: int) -> None:
    """Where the embedded backend's signed URLs point: streamed, size-capped, signature and expiry checked."""

    def verified(method: str, key: str, request: Request) -> JSONResponse | None:
        query = request.query_params
        try:
            if query.get("method") != method:
                raise SignatureInvalid("The link is not for this operation.")
            store.verify_signed(method, key, query.get("expires", ""), query.get("signature", ""))
        except (SignatureInvalid, InvalidKey) as error:
            return _reply(error_reply("invalid_signature", str(error)))
        return None

    @app.put("/storage/{key:path}", include_in_schema=False)
    async def upload(key: str, request: Request) -> JSONResponse:
        refused = verified("PUT", key, request)
        if refused:
            return refused
        if not key.startswith("uploads/"):
            return _reply(error_reply("invalid_signature", "Uploads go under uploads/ only."))
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and not content_type.startswith(("video/", "application/octet-stream")):
            return _reply(error_reply("unsupported_media_type", "Only video files can be uploaded."))
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            return _reply(error_reply("file_too_large", f"The video is larger than the {max_bytes / 1024**3:g} GB limit."))
        received = 0
        with tempfile.TemporaryFile(prefix="ergo-upload-") as spool:
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    return _reply(error_reply("file_too_large", f"The video is larger than the {max_bytes / 1024**3:g} GB limit."))
                spool.write(chunk)
            if received == 0:
                return _reply(error_reply("invalid_input", "The upload was empty."))
            spool.seek(0)
            etag = store.upload_fileobj(key, spool, content_type=content_type or "application/octet-stream")
        return JSONResponse({"status": "success", "size": received}, headers={"ETag": etag})

    @app.get("/storage/{key:path}", include_in_schema=False)
    async def download(key: str, request: Request):
        refused = verified("GET", key, request)
        if refused:
            return refused
        try:
            size = store.head(key).size
            content_type = store.content_type(key)
        except ObjectNotFound:
            return _reply(error_reply("job_not_found", "That file no longer exists."))
        name = key.rsplit("/", 1)[-1]
        return StreamingResponse(store.iter_chunks(key, 1 << 20), media_type=content_type,
                                 headers={"Content-Length": str(size), "Content-Disposition": f'attachment; filename="{name}"'})


def build_gateway(host: str, port: int, settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway as ``ergo serve`` runs it."""
    settings = settings or GatewaySettings()
    if settings.serve_backend == "runpod":
        try:
            client = RunPodClient.from_settings(settings)
        except UpstreamUnavailable:
            raise ValueError("ERGO_SERVE_BACKEND=runpod needs RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY.") from None
        return create_gateway(settings, forwarder=RunPodForwarder(client))
    storage = StorageSettings()
    # the embedded backend's signed URLs point here unless ERGO_PUBLIC_URL says where the page is served
    storage.public_url = storage.public_url or f"http://{host}:{port}"
    app = bootstrap.start(TASK_MODULES, store=open_store(storage))
    service = build_service(app)
    workers = [Worker(service.app, f"serve-{i}") for i in range(settings.serve_workers)]
    return create_gateway(settings, service=service, workers=workers)
