"""A client of the gateway's JSON API, with the transfers ``ergo submit`` needs."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm

from statestore.base import save_stream

from .errors import ApiFailure

#: Bytes per block of an upload or a download.
BLOCK = 1 << 20


class ApiClient:
    """Calls ``POST {base_url}/api/<action>`` and returns the answer, or raises ApiFailure with its words."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60.0):
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def call(self, action: str, **params) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.base_url}/api/{action}", data=json.dumps(params).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read())
            except ValueError:
                raise ApiFailure(f"The server answered HTTP {error.code}.") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise ApiFailure(f"Cannot reach {self.base_url} ({getattr(error, 'reason', error)}).") from None
        if body.get("status") != "success":
            raise ApiFailure(f"{body.get('error', 'unknown error')} [{body.get('code', '?')}]")
        return body


def upload_file(url: str, path: Path, content_type: str, show: bool = True) -> None:
    """PUT ``path`` to a signed URL, streamed, with a progress bar (bytes, speed, time left)."""
    parts = urllib.parse.urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.netloc, timeout=300)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    total = path.stat().st_size
    connection.putrequest("PUT", target, skip_accept_encoding=True)
    connection.putheader("Content-Type", content_type)
    connection.putheader("Content-Length", str(total))
    connection.endheaders()
    with open(path, "rb") as source, tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="Uploading",
                                          disable=not show) as bar:
        while block := source.read(BLOCK):
            connection.send(block)
            bar.update(len(block))
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status >= 300:
        raise ApiFailure(f"The upload was refused (HTTP {response.status}): {body[:200].decode(errors='replace')}")


def download(url: str, target: Path) -> None:
    """GET a signed URL into ``target`` atomically."""
    with urllib.request.urlopen(url, timeout=300) as response:
        save_stream(iter(lambda: response.read(BLOCK), b""), target)
