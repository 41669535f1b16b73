"""Local stand-ins for services on the internet: the RunPod API and a chat webhook.

Both are real HTTP servers on 127.0.0.1 that record what they receive.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingServer:
    """An HTTP server that records POSTs and answers with ``respond(path, body) -> (status, json)``."""

    def __init__(self, respond: Callable[[str, dict], tuple[int, dict]] | None = None):
        self.requests: list[dict] = []
        self.respond = respond or (lambda path, body: (200, {"ok": True}))
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, answer = outer.respond(self.path, body)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller gave up waiting, as a client with a deadline does

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def runpod_standin(handler: Callable[[dict], dict] | None = None, run_delay_s: float = 0.0) -> RecordingServer:
    """Mimics a RunPod endpoint whose workers are all busy: ``/run`` queues (after ``run_delay_s``), ``/cancel/<id>``
    withdraws, ``/runsync`` calls ``handler`` like a worker would."""
    pending: list[dict] = []

    def respond(path: str, body: dict) -> tuple[int, dict]:
        if path.endswith("/runsync"):
            return 200, {"id": "sync-1", "status": "COMPLETED", "output": handler(body) if handler else {}}
        if path.endswith("/run"):
            time.sleep(server.run_delay_s)
            pending.append(body)
            return 200, {"id": f"job-{len(pending)}", "status": "IN_QUEUE"}
        if "/cancel/" in path:
            return 200, {"id": path.rsplit("/", 1)[-1], "status": "CANCELLED"}
        return 404, {"error": "not found"}

    server = RecordingServer(respond)
    server.pending, server.run_delay_s = pending, run_delay_s
    return server
