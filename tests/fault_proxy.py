"""A loopback HTTP proxy in front of an S3 endpoint that counts requests and injects faults.

Test tooling, not part of the installed package; the benchmarks import it from here too (as they import
``tests.localstack``).  As Dramatiq ships a stub broker: point a store's
endpoint at :attr:`S3Proxy.url` and every request is forwarded to the real
endpoint (LocalStack), counted by kind (``GET``, ``PUT``, ``LIST``, ``DELETE``,
``HEAD``, ``POST``) and answer status, and, with ``fault_rate``, broken the
ways a network and a busy service break:

``reset_before``  the connection is reset before the request reaches the server
``reset_after``   the server applies the request, then the connection is reset
                  before its answer arrives (the outcome is unknown to the client)
``500``, ``503``  the service fails (503 as S3's ``SlowDown``)
``slow``          the answer comes ``slow_s`` seconds late
``late``          the server applies the request at once, and its answer is held
                  back ``late_s`` seconds (longer than a lease, say): not among
                  the default ``faults``; ask for it, or aim it at one request
                  with :meth:`S3Proxy.hold_next`

The ``Host`` header is passed through unchanged, so SigV4 signatures made for
the proxy's address still verify at the server.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("reset_before", "reset_after", "500", "503", "slow")
LATE = "late"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
_ERROR = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message>'
          "</Error>")


@dataclass
class _Hold:
    """An answer to hold back (:meth:`S3Proxy.hold_next`)."""

    kind: str
    path_part: str
    body_part: bytes
    seconds: float
    stall_for: float
    stalled_until: float | None = None  # set by the first request it holds


class S3Proxy:
    def __init__(self, upstream: str, *, fault_rate: float = 0.0, faults: tuple[str, ...] = FAULTS, slow_s: float = 0.5,
                 late_s: float = 30.0, seed: int | None = None):
        target = urllib.parse.urlsplit(upstream)
        self.upstream_host, self.upstream_port = target.hostname or "127.0.0.1", target.port or 80
        self.fault_rate, self.faults, self.slow_s, self.late_s = fault_rate, faults, slow_s, late_s
        self._held: list[_Hold] = []  # answers to hold back
        self.random = random.Random(seed)
        self.requests: Counter[str] = Counter()  # by kind
        self.answers: Counter[tuple[str, int]] = Counter()  # by kind and status
        self.injected: Counter[str] = Counter()
        self.conditional_refusals = 0  # 412 answers to conditional writes: lost compare-and-swaps
        self._lock = threading.Lock()
        self._upstream = threading.local()  # each handler thread keeps its own connection to the endpoint
        self._server = _ProxyServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> S3Proxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.answers.clear()
            self.injected.clear()
            self.conditional_refusals = 0

    def hold_next(self, kind: str, path_part: str, seconds: float, body_part: bytes = b"", *, stall_for: float = 0.0) -> None:
        """Hold back the answer to the next ``kind`` request (``PUT``...) whose path contains ``path_part`` (and whose
        body contains ``body_part``) for ``seconds``, once; the request itself reaches the server at once.

        ``body_part`` aims the hold at one write whatever else writes the same key meanwhile (a heartbeat that,
        on a loaded machine, comes first).  ``stall_for``: the answers to every further ``kind`` request to
        ``path_part`` sent within that many seconds of the first are held as long too (a connection that stalls for a
        while, not one request: a renewal sent beside the held write gets no earlier answer, whatever its timing)."""
        with self._lock:
            self._held.append(_Hold(kind, path_part, body_part, seconds, stall_for))

    def _held_for(self, kind: str, path: str, body: bytes) -> float | None:
        now = time.monotonic()
        with self._lock:
            self._held = [rule for rule in self._held if rule.stalled_until is None or now <= rule.stalled_until]  # stalls over
            for rule in self._held:
                if rule.kind != kind or rule.path_part not in path:
                    continue
                if rule.stalled_until is None and rule.body_part in body:
                    rule.stalled_until = now + rule.stall_for  # the first it holds; without a stall, the only one
                elif rule.stalled_until is None:
                    continue
                if rule.stall_for == 0:
                    self._held.remove(rule)
                self.injected[LATE] += 1
                return rule.seconds
        return None

    def _pick_fault(self) -> str | None:
        with self._lock:
            if self.fault_rate and self.random.random() < self.fault_rate:
                fault = self.random.choice(self.faults)
                self.injected[fault] += 1
                return fault
        return None

    def _record(self, kind: str, status: int, conditional: bool) -> None:
        with self._lock:
            self.requests[kind] += 1
            self.answers[(kind, status)] += 1
            self.conditional_refusals += conditional and status == 412

    def upstream_connection(self) -> http.client.HTTPConnection:
        """This thread's kept-alive connection to the upstream endpoint, opened when it has none."""
        connection = getattr(self._upstream, "connection", None)
        if connection is None:
            connection = self._upstream.connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        return connection

    def drop_upstream_connection(self) -> None:
        self._upstream.connection.close()
        self._upstream.connection = None


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: S3Proxy):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy


class _Handler(BaseHTTPRequestHandler):
    """One request: read it whole, pick its fate (a fault, a held answer, or none), forward it, answer it."""

    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._forward()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def _forward(self) -> None:
        proxy = self.server.proxy
        kind, body = self._kind(), self._body()
        conditional = "If-Match" in self.headers or "If-None-Match" in self.headers
        held = proxy._held_for(kind, self.path, body)
        fault = LATE if held is not None else proxy._pick_fault()
        if fault == "reset_before":
            return self._reset()
        if fault in ("500", "503"):
            return self._fail(int(fault))
        if fault == "slow":
            time.sleep(proxy.slow_s)
        response = self._upstream(self.command, body)
        data = response.read()
        proxy._record(kind, response.status, conditional)
        if fault == "reset_after":
            return self._reset()
        if fault == LATE:  # applied; the answer is on its way, slowly
            time.sleep(proxy.late_s if held is None else held)
        self._relay(response, data)

    def _kind(self) -> str:
        if self.command == "GET" and "list-type" in urllib.parse.urlsplit(self.path).query:
            return "LIST"
        return self.command

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)

    def _reset(self) -> None:
        """Abort the client's connection with a TCP reset, answering nothing."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def _fail(self, status: int) -> None:
        """Answer as S3 does when it fails: 500 InternalError, or 503 SlowDown."""
        data = _ERROR.format(code="InternalError" if status == 500 else "SlowDown").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _upstream(self, method: str, body: bytes) -> http.client.HTTPResponse:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        proxy = self.server.proxy
        for attempt in range(2):  # a kept-alive upstream connection may have been closed meanwhile
            connection = proxy.upstream_connection()
            try:
                connection.request(method, self.path, body=body if body or method in ("PUT", "POST") else None, headers=headers)
                return connection.getresponse()
            except (http.client.HTTPException, OSError):
                proxy.drop_upstream_connection()
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _relay(self, response: http.client.HTTPResponse, data: bytes) -> None:
        """Answer with the upstream's status, headers and body."""
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        # a HEAD answer describes the object: its length is the object's, not of the (empty) body
        self.send_header("Content-Length", response.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
