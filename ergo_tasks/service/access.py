"""Who may call the gateway, how often and with how much: tokens, rate limits, the body limit, the host check.

The ASGI middleware here (:class:`BodyLimit`, :class:`HostCheck`) acts before FastAPI reads a request; the
dependencies (:func:`authenticated`, :func:`rate_limited`) tell the routes who is calling, from the transport
alone (the bearer token, the connection's address), never from the body.  They are coroutines: they only hash
and count, so they run on the event loop rather than taking a thread each.  The body limit stays a middleware:
FastAPI reads and parses a body before it resolves any dependency, so a dependency would refuse a 10 GB body
only once it was in memory.  A refusal is :class:`Refused`, answered with the JSON error envelope.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from .actions import JobService
from .errors import error_reply, http_status
from .requests import Caller

#: Request bodies larger than this are refused before they are read: no action needs more.
MAX_BODY_BYTES = 64 * 1024
#: Failed authentications a client address may make at once, and how fast it may try again.
AUTH_FAILURE_BURST, AUTH_FAILURES_PER_MINUTE = 10, 6.0
#: Tokens shorter than this are reported at start-up: guessing, not the limits, is what they must withstand.
MIN_TOKEN_LENGTH = 24
#: Failed authentications from all addresses together: a ceiling that many addresses cannot multiply.
AUTH_GLOBAL_FAILURE_BURST, AUTH_GLOBAL_FAILURES_PER_MINUTE = 30, 30.0


def reply(body: dict, headers: dict | None = None) -> JSONResponse:
    """An answer envelope as HTTP, with the status its code maps to."""
    return JSONResponse(body, status_code=http_status(body), headers=headers)


class Refused(Exception):
    """Raised by a dependency or a route to answer ``response`` at once (the gateway's handler sends it)."""

    def __init__(self, response: Response):
        super().__init__(getattr(response, "status_code", None))
        self.response = response

    @classmethod
    def because(cls, code: str, words: str, headers: dict | None = None) -> Refused:
        return cls(reply(error_reply(code, words), headers))


def too_many(wait: float) -> Refused:
    seconds = max(1, int(wait + 0.999))
    return Refused.because("rate_limited", f"Too many requests; try again in {seconds} s.", {"Retry-After": str(seconds)})


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


@dataclass(frozen=True)
class Gateway:
    """What the routes share, kept in ``app.state.gateway``: the service, and the checks its callers pass."""

    service: JobService
    tokens: TokenCheck | None  # None: no tokens configured, every caller is the local operator
    limiter: RateLimiter


async def gateway(request: Request) -> Gateway:
    """The dependency that hands a route the gateway it was mounted in."""
    return request.app.state.gateway


def _address(request: Request) -> str:
    """The connection's address (a proxy's header counts only where ``ergo serve --forwarded-allow-ips`` says)."""
    return request.client.host if request.client else "unknown"


async def authenticated(request: Request, gate: Annotated[Gateway, Depends(gateway)]) -> Caller:
    """Who is calling, from the transport alone: the bearer token (never anything in the body)."""
    if gate.tokens is None:
        return Caller(client=None, operator=True, internal=False)
    header = request.headers.get("authorization", "")
    known = gate.tokens.identify(header[7:].strip() if header.lower().startswith("bearer ") else "")
    if known is None:
        wait = gate.tokens.failed(_address(request))
        raise too_many(wait) if wait else Refused.because("unauthorized", "A valid API token is needed (Authorization: Bearer <token>).")
    client, role = known
    return Caller(client=client, operator=role == "operator", internal=False)


async def rate_limited(request: Request, caller: Annotated[Caller, Depends(authenticated)], gate: Annotated[Gateway, Depends(gateway)]) -> Caller:
    """The caller, once its client (its token, or its address without auth) is within its rate limit."""
    wait = gate.limiter.take(caller.client or _address(request))
    if wait:
        raise too_many(wait)
    return caller


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
        answer = reply(error_reply("body_too_large", f"The request body is larger than {self.max_bytes // 1024} KB."))
        await answer(scope, receive, send)


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
        answer = reply(error_reply("invalid_host", "This server answers only to its own names (ERGO_ALLOWED_HOSTS lists more)."))
        await answer(scope, receive, send)


def _host_name(header: str) -> str:
    """``Host: [::1]:8000`` -> ``::1``; ``Host: LocalHost:80`` -> ``localhost``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
