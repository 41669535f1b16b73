"""``ergo serve``: the web page and the job API on this machine."""

from __future__ import annotations

import argparse

import structlog

from ..service.settings import GatewaySettings

log = structlog.get_logger(__name__)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..service.http import build_gateway, check_exposure

    settings = GatewaySettings()
    if args.backend:
        settings.serve_backend = args.backend
    if args.workers is not None:
        settings.serve_workers = args.workers
    check_exposure(args.host, settings, args.insecure_no_auth)
    app = build_gateway(args.host, args.port, settings)
    # a log line, not a print: with ERGO_LOG_FORMAT=json the server writes nothing but JSON
    log.info("serve.listening", url=f"http://{args.host}:{args.port}/", api_docs="/docs", backend=settings.serve_backend)
    # log_config=None: uvicorn's loggers go through the process's logging setup (JSON when asked for)
    # uvicorn believes X-Forwarded-For from loopback unless told otherwise: a client's address (rate limits, failed
    # tokens) comes from the connection, or from the proxy header only when the proxy is named
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", log_config=None,
                proxy_headers=bool(args.forwarded_allow_ips), forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="serve the web page and the job API on this machine")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--backend", choices=["embedded", "runpod"],
                       help="embedded: run jobs here; runpod: send each job to the RunPod endpoint (default: ERGO_SERVE_BACKEND or embedded)")
    serve.add_argument("--workers", type=int, help="in-process workers for the embedded backend (default 1)")
    serve.add_argument("--insecure-no-auth", action="store_true",
                       help="serve a non-loopback address without API tokens (every caller is an operator)")
    serve.add_argument("--forwarded-allow-ips", metavar="ADDRESSES",
                       help="comma-separated addresses of the reverse proxies whose X-Forwarded-For names the client "
                            "(default: none; every client is its connection's address)")
    serve.set_defaults(handler=cmd_serve)
