"""``ergo serve``: the local gateway.

One HTTP server that serves the web page (``frontend/``), exposes the job API
as JSON (``POST /api/<action>``, OpenAPI at ``/docs``), and, for the embedded
``local`` storage, receives uploads and serves downloads through the signed
URLs that backend issues.

Every action is answered here, from storage; only the analysis runs elsewhere:

``embedded``  in-process workers run the jobs: the whole system on one machine
``runpod``    each job is sent to the RunPod GPU endpoint as one ``execute``
              request; status, URLs and operator actions never touch a GPU,
              and the RunPod and storage keys stay on this server

Access control (when ``ERGO_API_TOKENS`` / ``ERGO_API_TOKENS_FILE`` name
tokens): ``Authorization: Bearer <token>`` on every API call; tokens marked
``:operator`` may also list, resume and purge, and cancel any job (a client
cancels its own).  Without tokens, only this server's host names are answered
(:class:`HostCheck`).  Each client (token, or IP
address without auth) has a token-bucket rate limit; past it, a 429 says when
to come back.  Wrong tokens are limited per address and by a global ceiling
(:class:`TokenCheck`), never at the expense of a right token.  Bodies over
64 KB are refused before they are parsed, and every answer, a 404 included,
is the JSON error envelope.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import ipaddress
import json
import re
import tempfile
import threading
import time
from typing import Any

import structlog
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from statestore import ObjectNotFound, PreconditionFailed, StorageSettings, open_store
from statestore.errors import InvalidKey, SignatureInvalid
from statestore.local import LocalStore

from .. import bootstrap
from ..analysis import TASK_MODULES
from ..errors import validation_message
from ..worker import Worker
from .actions import PUBLIC_ACTIONS, Caller, JobService, build_service, service_info
from .errors import error_reply, http_status
from .settings import GatewaySettings, ServiceSettings

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

    def waiting(self, client: str) -> float:
        """The seconds until ``client`` may go ahead, without using a request (0 if it may now)."""
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, self.clock()))
            tokens = min(self.burst, tokens + (self.clock() - last) * self.rate)
            return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


#: Request bodies larger than this are refused before they are read: no action needs more.
MAX_BODY_BYTES = 64 * 1024
#: Failed authentications a client address may make at once, and how fast it may try again.
AUTH_FAILURE_BURST, AUTH_FAILURES_PER_MINUTE = 10, 6.0
#: Tokens shorter than this are reported at start-up: guessing, not the limits, is what they must withstand.
MIN_TOKEN_LENGTH = 24
#: Failed authentications from all addresses together: a ceiling that many addresses cannot multiply.
AUTH_GLOBAL_FAILURE_BURST, AUTH_GLOBAL_FAILURES_PER_MINUTE = 30, 30.0
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


class TokenCheck:
    """Which token a request carries, compared in constant time, and how many wrong ones may be tried.

    Every known token is compared (by its SHA-256, so lengths never differ) on every request, and a right token is
    never refused for others' failures: wrong tokens are limited per address and, across all addresses, by a
    global ceiling; past either, a wrong token is answered 429 instead of 401.  A right token still gets in, so a
    guesser past the limits learns only whether a guess was right: tokens must be long random strings.
    """

    def __init__(self, tokens: dict[str, str], clock=time.monotonic):
        self._known = [(hashlib.sha256(token.encode()).digest(), role) for token, role in tokens.items()]
        self.per_address = RateLimiter(AUTH_FAILURES_PER_MINUTE, AUTH_FAILURE_BURST, clock)
        self.everyone = RateLimiter(AUTH_GLOBAL_FAILURES_PER_MINUTE, AUTH_GLOBAL_FAILURE_BURST, clock)

    def identify(self, token: str) -> tuple[str, str] | None:
        """(client id, role) of a known token, else None; the same work whatever the token."""
        digest, found = hashlib.sha256(token.encode()).digest(), None
        for known, role in self._known:
            if hmac.compare_digest(digest, known):
                found = (known.hex()[:16], role)
        return found

    def failed(self, address: str) -> float:
        """Count a wrong token from ``address``: 0 to answer 401, else the seconds to tell it to wait.

        Only guesses the address may make count towards the ceiling: one address cannot spend everyone's budget."""
        return self.per_address.take(address) or self.everyone.take("*")


def _reply(body: dict, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=http_status(body), headers=headers)


class BodyLimit:
    """ASGI middleware: an API request body over ``max_bytes`` is refused before any of it is parsed.

    A declared Content-Length over the limit is refused at once; a body sent without one is read here,
    counted as it arrives and refused as soon as it passes the limit, then handed on whole.
    """

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES, prefix: str = "/api/"):
        self.app, self.max_bytes, self.prefix = app, max_bytes, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await self._refuse(scope, receive, send)
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self._refuse(scope, receive, send)
        delivered = False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send):
        reply = _reply(error_reply("body_too_large", f"The request body is larger than {self.max_bytes // 1024} KB."))
        await reply(scope, receive, send)


class HostCheck:
    """ASGI middleware: only requests whose ``Host`` is one of ``hosts`` are answered (against DNS rebinding).

    Without tokens the server trusts whoever reaches it on loopback; a web page on another site can reach it
    too, through the user's browser, under a name of its own that resolves to 127.0.0.1. Its Host header
    gives it away.
    """

    def __init__(self, app, hosts: set[str]):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _host_name(dict(scope["headers"]).get(b"host", b"").decode("latin-1")) in self.hosts:
            return await self.app(scope, receive, send)
        reply = _reply(error_reply("invalid_host", "This server answers only to its own names (ERGO_ALLOWED_HOSTS lists more)."))
        await reply(scope, receive, send)


def _host_name(header: str) -> str:
    """``Host: [::1]:8000`` -> ``::1``; ``Host: LocalHost:80`` -> ``localhost``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def check_exposure(host: str, settings: GatewaySettings, insecure_no_auth: bool = False) -> None:
    """Refuse to serve without tokens on an address other machines can reach, unless told to."""
    if settings.tokens() or insecure_no_auth:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"Serving on {host} without API tokens would make every caller an operator. Set ERGO_API_TOKENS "
                         "(or ERGO_API_TOKENS_FILE), listen on 127.0.0.1, or pass --insecure-no-auth if that is really meant.")


def create_gateway(settings: GatewaySettings, service: JobService, workers: list | None = None,
                   listen_host: str | None = None) -> FastAPI:
    """The FastAPI app over ``service``: every action is answered here, from storage.

    Only the analysis itself leaves this process: ``start_processing`` (and a status read that finds a
    job stalled) hands the job to the service's dispatcher, which for RunPod sends an ``execute``
    request. A status read therefore never waits on a GPU.
    """
    tokens = settings.tokens()
    limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    check = TokenCheck(tokens)
    if short := sum(len(token) < MIN_TOKEN_LENGTH for token in tokens):
        # past the limits a guess still learns whether it was right (a right token is never refused): length is the defence
        log.warning("gateway.short_tokens", count=short, advice=f"use random tokens of {MIN_TOKEN_LENGTH}+ characters")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        if workers:
            # the workers' start-up (Torch's import: seconds of CPU) is paid before the server answers, not while
            # the page's first requests wait behind it; each worker's own call is then instant
            service.app.middleware.after_worker_boot(service.app)
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
    app.add_middleware(BodyLimit)
    if not tokens and listen_host not in ("0.0.0.0", "::"):
        app.add_middleware(HostCheck, hosts=settings.hosts() | ({listen_host.lower()} if listen_host else set()))
    origins = settings.origins()
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "PUT"],
                           allow_headers=["Authorization", "Content-Type", "If-None-Match"])

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        if error.errors()[0].get("type") == "json_invalid":
            return _reply(error_reply("invalid_input", "Invalid request: the body is not valid JSON."))
        return _reply(error_reply("invalid_input", f"Invalid request: {validation_message(error.errors())}"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "invalid_input")
        words = {404: "Nothing is here.", 405: "This address does not take that method."}.get(error.status_code, str(error.detail))
        return JSONResponse(error_reply(code, words), status_code=error.status_code, headers=getattr(error, "headers", None))

    def caller_of(request: Request) -> Caller | JSONResponse:
        """Who is calling, from the transport alone: the bearer token (never anything in the body)."""
        if not tokens:
            return Caller(client=None, operator=True, internal=False)
        header = request.headers.get("authorization", "")
        known = check.identify(header[7:].strip() if header.lower().startswith("bearer ") else "")
        if known is None:
            # the address is the transport's (a proxy's header counts only where `ergo serve --forwarded-allow-ips` says)
            wait = check.failed(request.client.host if request.client else "unknown")
            return _too_many(wait) if wait else _reply(error_reply("unauthorized", "A valid API token is needed (Authorization: Bearer <token>)."))
        client, role = known
        return Caller(client=client, operator=role == "operator", internal=False)

    def call(action: str, request: Request, body: Any) -> JSONResponse:
        caller = caller_of(request)
        if isinstance(caller, JSONResponse):
            return caller
        wait = limiter.take(caller.client or (request.client.host if request.client else "unknown"))
        if wait:
            return _too_many(wait)
        if action not in PUBLIC_ACTIONS:
            return _reply(error_reply("unknown_action", f"Unknown action; use one of: {', '.join(sorted(PUBLIC_ACTIONS))}."))
        return _reply(service.handle(action, body if body is not None else {}, caller))

    def route(action: str, model: type, summary: str) -> None:
        async def endpoint(request: Request, body=Body(default=None)) -> JSONResponse:  # noqa: B008 - FastAPI's idiom
            raw = await request.json() if await request.body() else {}
            # storage calls block: in the thread pool, so one slow read never holds up the other callers
            return await run_in_threadpool(call, action, request, raw)

        # Real types (not strings) so FastAPI validates the body and documents it in the OpenAPI spec.
        endpoint.__annotations__ = {"request": Request, "body": model | None, "return": JSONResponse}
        app.post(f"/api/{action}", summary=summary, name=action)(endpoint)

    for name, action in PUBLIC_ACTIONS.items():
        route(name, action.request, action.summary)

    @app.get("/api/info", summary="What the page needs to know before uploading")
    async def info() -> dict:
        return {**service_info(service.settings), "auth_required": bool(tokens)}

    @app.post("/api/{action}", include_in_schema=False)
    async def unknown_action(action: str, request: Request) -> JSONResponse:
        return call(action, request, None)

    @app.api_route("/api/{path:path}", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def wrong_method(path: str, request: Request) -> JSONResponse:
        # declared before the page's mount at "/", which would answer a GET here with a bare 404
        return JSONResponse(error_reply("method_not_allowed", "The API takes POST (and GET /api/info)."), status_code=405,
                            headers={"Allow": "POST"})


    if isinstance(service.store, LocalStore):
        _add_local_storage_routes(app, service.store, service.settings.max_upload_bytes)

    if (settings.frontend_dir / "index.html").exists():
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="frontend")
    return app


_SAFE_NAME = re.compile(r'[^A-Za-z0-9._-]')
_LINK_REFUSED = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Download link not valid</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>This download link cannot be used</h1><p>{reason}</p>
<p>Download links last a few minutes. Go back to the results page and choose the file again:
each click makes a new link.</p></body></html>"""


def _wrong_size(size: int) -> JSONResponse:
    return _reply(error_reply("size_mismatch", f"The link was signed for exactly {size} bytes; the upload was another size."))


def _too_many(wait: float) -> JSONResponse:
    seconds = max(1, int(wait + 0.999))
    return _reply(error_reply("rate_limited", f"Too many requests; try again in {seconds} s."), {"Retry-After": str(seconds)})


def _add_local_storage_routes(app: FastAPI, store: LocalStore, max_bytes: int) -> None:
    """Where the embedded backend's signed URLs point: streamed, size-capped, signature, conditions and expiry checked,
    refusing what S3 would refuse for the same URL."""

    def verified(method: str, key: str, request: Request) -> dict[str, str] | JSONResponse:
        query = request.query_params
        try:
            if query.get("method") != method:
                raise SignatureInvalid("The link is not for this operation.")
            return store.verify_signed(method, key, query)
        except (SignatureInvalid, InvalidKey) as error:
            return _reply(error_reply("invalid_signature", str(error)))

    def too_large() -> JSONResponse:
        return _reply(error_reply("file_too_large", f"The video is larger than the {max_bytes / 1024**3:g} GB limit."))

    @app.put("/storage/{key:path}", include_in_schema=False)
    async def upload(key: str, request: Request) -> JSONResponse:
        conditions = verified("PUT", key, request)
        if isinstance(conditions, JSONResponse):
            return conditions
        if not key.startswith("uploads/"):
            return _reply(error_reply("invalid_signature", "Uploads go under uploads/ only."))
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and not content_type.startswith(("video/", "application/octet-stream")):
            return _reply(error_reply("unsupported_media_type", "Only video files can be uploaded."))
        if conditions.get("new_only") and request.headers.get("if-none-match") != "*":
            return _reply(error_reply("invalid_signature", "This link needs the header If-None-Match: * (it was signed with it)."))
        size = int(conditions["size"]) if "size" in conditions else None
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > (size if size is not None else max_bytes):
            return too_large() if size is None or int(declared) > max_bytes else _wrong_size(size)
        received = 0
        with tempfile.TemporaryFile(prefix="ergo-upload-") as spool:
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    return too_large()
                if size is not None and received > size:
                    return _wrong_size(size)
                spool.write(chunk)
            if received == 0:
                return _reply(error_reply("invalid_input", "The upload was empty."))
            if size is not None and received != size:
                return _wrong_size(size)
            spool.seek(0)
            try:
                if "upload_id" in conditions:
                    etag = await run_in_threadpool(store.put_part, key, conditions["upload_id"], int(conditions["part"]), spool)
                else:
                    etag = await run_in_threadpool(lambda: store.upload_fileobj(
                        key, spool, content_type=content_type or "application/octet-stream", new_only=bool(conditions.get("new_only"))))
            except ObjectNotFound as error:
                return _reply(error_reply("upload_not_found", str(error)))
            except PreconditionFailed:
                return _reply(error_reply("already_uploaded", "This video was uploaded already; a link cannot replace it."))
        return JSONResponse({"status": "success", "size": received}, headers={"ETag": etag})

    @app.get("/storage/{key:path}", include_in_schema=False)
    async def download(key: str, request: Request):
        conditions = verified("GET", key, request)
        if isinstance(conditions, JSONResponse):
            if "text/html" in request.headers.get("accept", ""):  # a person opened the link: words, not JSON
                return HTMLResponse(_LINK_REFUSED.format(reason=html.escape(json.loads(conditions.body)["error"])), status_code=403)
            return conditions
        try:
            size = store.head(key).size
            content_type = store.content_type(key)
        except ObjectNotFound:
            return _reply(error_reply("job_not_found", "That file no longer exists."))
        name = _SAFE_NAME.sub("_", conditions.get("filename") or key.rsplit("/", 1)[-1])  # the name the link was signed for
        return StreamingResponse(store.iter_chunks(key, 1 << 20), media_type=content_type,
                                 headers={"Content-Length": str(size), "Content-Disposition": f'attachment; filename="{name}"'})


def build_gateway(host: str, port: int, settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway as ``ergo serve`` runs it.

    ``embedded``: jobs run in this process's workers.  ``runpod``: the same service on the configured
    bucket, dispatching each job to the RunPod endpoint (``execute``) and running none itself.
    """
    settings = settings or GatewaySettings()
    storage = StorageSettings()
    if settings.serve_backend == "runpod":
        if storage.provider == "local":
            raise ValueError("ERGO_SERVE_BACKEND=runpod needs a bucket the GPU workers can reach (STORAGE_PROVIDER=r2 or s3).")
        service_settings, workers = ServiceSettings(dispatch_mode="runpod"), 0
    else:
        # the embedded backend's signed URLs point here unless ERGO_PUBLIC_URL says where the page is served
        storage.public_url = storage.public_url or f"http://{host}:{port}"
        service_settings, workers = ServiceSettings(), settings.serve_workers
    service = build_service(bootstrap.start(TASK_MODULES, store=open_store(storage)), service_settings)
    return create_gateway(settings, service, [Worker(service.app, f"serve-{i}") for i in range(workers)], listen_host=host)
