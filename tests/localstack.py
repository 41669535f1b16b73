"""Start and stop the S3 emulators on this host, without Docker: LocalStack, and moto's server.

LocalStack lives in its own virtual environment (``make`` builds
``.localstack-venv``; ``ERGO_LOCALSTACK_PYTHON`` points at its interpreter).
It keeps everything in a scratch folder and nothing across restarts.  moto
(``moto[server]``, a test dependency) runs in a thread of the test process and
keeps everything in memory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2) as response:
            return json.load(response).get("services", {}).get("s3") in ("running", "available")
    except OSError:
        return False


def localstack_python() -> Path:
    configured = os.environ.get("ERGO_LOCALSTACK_PYTHON")
    path = Path(configured) if configured else REPO / ".localstack-venv" / "bin" / "python"
    if not path.exists():
        raise RuntimeError(f"LocalStack's interpreter {path} does not exist: run the tests with `make test`, which installs it.")
    return path


@contextmanager
def running_localstack() -> Iterator[str]:
    """Yield the endpoint of a running LocalStack S3, starting one if none is configured."""
    given = os.environ.get("ERGO_TEST_S3_ENDPOINT")
    if given:
        if not healthy(given):
            raise RuntimeError(f"ERGO_TEST_S3_ENDPOINT={given} does not answer as a LocalStack S3.")
        yield given
        return
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="ergo-localstack-") as scratch:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_"))},
            "SERVICES": "s3", "EAGER_SERVICE_LOADING": "1", "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{port}", "OVERRIDE_IN_DOCKER": "0", "DNS_ADDRESS": "0",
            "DISABLE_EVENTS": "1", "SKIP_SSL_CERT_DOWNLOAD": "1", "S3_SKIP_SIGNATURE_VALIDATION": "0",
            "FILESYSTEM_ROOT": f"{scratch}/fs", "CONFIG_DIR": f"{scratch}/config",
        }
        log_path = Path(scratch) / "localstack.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([str(localstack_python()), "-m", "localstack.runtime.main"], env=env, cwd=scratch,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not healthy(endpoint):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"LocalStack did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_moto() -> Iterator[str]:
    """Yield the endpoint of moto's S3 server, started on a free loopback port for as long as the context lasts."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
