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
(:class:`~.access.HostCheck`).  Each client (token, or IP
address without auth) has a token-bucket rate limit; past it, a 429 says when
to come back.  Wrong tokens are limited per address and by a global ceiling
(:class:`~.access.TokenCheck`), never at the expense of a right token.  Bodies over
64 KB are refused before they are parsed, and every answer, a 404 included,
is the JSON error envelope.

The app is assembled here (:func:`create_gateway`) from module-level routers, FastAPI's "bigger applications"
layout: the job API (:mod:`.api_routes`), the local storage's signed URLs (:mod:`.storage_routes`), and the
checks every caller passes (:mod:`.access`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from statestore import StorageSettings, open_store
from statestore.local import LocalStore

from .. import bootstrap
from ..analysis import TASK_MODULES
from ..errors import validation_message
from ..worker import Worker
from . import api_routes, storage_routes
from .access import MIN_TOKEN_LENGTH, BodyLimit, Gateway, HostCheck, RateLimiter, Refused, TokenCheck, reply
from .actions import JobService, build_service
from .errors import error_reply
from .settings import GatewaySettings, ServiceSettings

log = structlog.get_logger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}
_HTTP_WORDS = {404: "Nothing is here.", 405: "This address does not take that method."}


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
    app = FastAPI(title="ergo job API", version="1", lifespan=_lifespan,
                  description="Ergonomic risk assessment of work videos. Every answer is "
                              '`{"status": "success", ...}` or `{"status": "error", "error", "code"}`.')
    tokens = settings.tokens()
    app.state.gateway = Gateway(service, TokenCheck(tokens) if tokens else None,
                                RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst))
    app.state.workers = workers or []
    _warn_short_tokens(tokens)
    _add_middleware(app, settings, bool(tokens), listen_host)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(api_routes.router)
    if isinstance(service.store, LocalStore):
        app.include_router(storage_routes.router)
    if (settings.frontend_dir / "index.html").exists():
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="frontend")
    return app


def _warn_short_tokens(tokens: dict[str, str]) -> None:
    if short := sum(len(token) < MIN_TOKEN_LENGTH for token in tokens):
        # past the limits a guess still learns whether it was right (a right token is never refused): length is the defence
        log.warning("gateway.short_tokens", count=short, advice=f"use random tokens of {MIN_TOKEN_LENGTH}+ characters")


def _add_middleware(app: FastAPI, settings: GatewaySettings, with_tokens: bool, listen_host: str | None) -> None:
    """The body limit always; the host check where no token protects a server listening on chosen names; CORS where
    origins are configured."""
    app.add_middleware(BodyLimit)
    if not with_tokens and listen_host not in ("0.0.0.0", "::"):
        app.add_middleware(HostCheck, hosts=settings.hosts() | ({listen_host.lower()} if listen_host else set()))
    if origins := settings.origins():
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "PUT"],
                           allow_headers=["Authorization", "Content-Type", "If-None-Match"])


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI):
    """Start the in-process workers with the server and stop them with it."""
    service, workers = app.state.gateway.service, app.state.workers
    if workers:
        # the workers' start-up (Torch's import: seconds of CPU) is paid before the server answers, not while
        # the page's first requests wait behind it; each worker's own call is then instant
        service.app.middleware.after_worker_boot(service.app)
    threads = [threading.Thread(target=w.run, name=f"ergo-worker-{i}", daemon=True) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    yield
    for worker in workers:
        worker.request_stop()
    for thread in threads:
        thread.join(timeout=30)


async def _refused(_request: Request, error: Refused) -> Response:
    return error.response


async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
    if error.errors()[0].get("type") == "json_invalid":
        return reply(error_reply("invalid_input", "Invalid request: the body is not valid JSON."))
    return reply(error_reply("invalid_input", f"Invalid request: {validation_message(error.errors())}"))


async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(error.status_code, "invalid_input")
    words = _HTTP_WORDS.get(error.status_code, str(error.detail))
    return JSONResponse(error_reply(code, words), status_code=error.status_code, headers=getattr(error, "headers", None))


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
