"""A client of the gateway's JSON API, with the transfers ``ergo submit`` needs."""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from statestore.base import save_stream

from .errors import ApiFailure
from .settings import ClientSettings

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
            raise ApiFailure(f"{body.get('error', 'unknown error')} [{body.get('code', '?')}]", code=body.get("code"))
        return body


def gateway_client(url: str | None = None, token: str | None = None) -> ApiClient:
    """The gateway a command talks to: ``url`` and ``token`` where given, else ERGO_API_URL and ERGO_API_TOKEN."""
    settings = ClientSettings()
    token = token or (settings.api_token.get_secret_value() if settings.api_token else None)
    return ApiClient(url or settings.api_url, token)


def upload_video(client: ApiClient, path: Path, *, show: bool = True, workers: int = 4, state_dir: Path | None = None) -> str:
    """Upload ``path`` through the gateway's signed URLs; returns its ``video_key``.

    A small file goes in one PUT.  A large one goes in parts, ``workers`` at a time; what was sent is
    remembered in ``state_dir``, so running this again on the same file after a dropped connection or a
    killed process sends only the parts storage does not have.
    """
    size = path.stat().st_size
    record = _ResumeRecord(state_dir, client.base_url, path)
    slot, done = record.load(), {}
    if slot is not None:
        try:
            done = {p["number"]: p["size"] for p in client.call("list_upload_parts", video_key=slot["video_key"],
                                                                    upload_id=slot["upload_id"])["parts"]}
        except ApiFailure as error:
            if error.code != "upload_not_found":
                raise
            if _completed_already(client, slot, size):  # its completion's answer was lost: the video is there
                record.clear()
                return slot["video_key"]
            slot = None  # aborted or expired: start afresh
    if slot is None:
        slot = client.call("generate_upload_url", filename=path.name, size=size)
        if slot["method"] == "PUT":
            with _progress(size, 0, show) as bar:
                _put_range(slot["upload_url"], path, 0, size, slot["headers"], bar)
            return slot["video_key"]
        record.save(slot)
    part_size, count = slot["part_size"], slot["part_count"]

    def length(number: int) -> int:
        return min(part_size, size - (number - 1) * part_size)

    todo = [n for n in range(1, count + 1) if done.get(n) != length(n)]
    with _progress(size, size - sum(length(n) for n in todo), show) as bar, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        for first in range(0, len(todo), 100):  # URLs are signed in batches, as the parts are reached
            batch = todo[first:first + 100]
            urls = client.call("sign_upload_parts", video_key=slot["video_key"], upload_id=slot["upload_id"], size=size,
                               parts=batch)["urls"]
            sends = [pool.submit(_put_range, urls[str(n)], path, (n - 1) * part_size, length(n),
                                 {}, bar) for n in batch]
            for send in sends:
                send.result()
    client.call("complete_upload", video_key=slot["video_key"], upload_id=slot["upload_id"], size=size)
    record.clear()
    return slot["video_key"]


def _completed_already(client: ApiClient, slot: dict, size: int) -> bool:
    """Whether an upload that is no longer in progress was completed (``complete_upload`` answers so, again)."""
    try:
        client.call("complete_upload", video_key=slot["video_key"], upload_id=slot["upload_id"], size=size)
    except ApiFailure as error:
        if error.code != "upload_not_found":
            raise
        return False
    return True


class _ResumeRecord:
    """Where an upload in parts is remembered between runs: one small JSON file per (gateway, file, size, mtime)."""

    def __init__(self, folder: Path | None, base_url: str, path: Path):
        stat = path.stat()
        name = hashlib.sha256(f"{base_url}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:32]
        self.file = folder / f"{name}.json" if folder else None

    def load(self) -> dict | None:
        try:
            return json.loads(self.file.read_text()) if self.file else None
        except (OSError, ValueError):
            return None

    def save(self, slot: dict) -> None:
        if self.file:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self.file.write_text(json.dumps({key: slot[key] for key in ("video_key", "upload_id", "part_size", "part_count")}))

    def clear(self) -> None:
        if self.file:
            self.file.unlink(missing_ok=True)


def _progress(total: int, initial: int, show: bool) -> tqdm:
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc="Uploading", disable=not show)


def _put_range(url: str, path: Path, offset: int, length: int, headers: dict, bar: tqdm, attempts: int = 3) -> None:
    """PUT ``length`` bytes of ``path`` from ``offset`` to a signed URL, streamed; a dropped connection is tried again."""
    for attempt in range(attempts):
        sent = 0
        try:
            parts = urllib.parse.urlsplit(url)
            connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connection = connection_type(parts.netloc, timeout=300)
            connection.putrequest("PUT", parts.path + (f"?{parts.query}" if parts.query else ""), skip_accept_encoding=True)
            for name, value in {**headers, "Content-Length": str(length)}.items():
                connection.putheader(name, value)
            connection.endheaders()
            with open(path, "rb") as source:
                source.seek(offset)
                while sent < length:
                    block = source.read(min(BLOCK, length - sent))
                    connection.send(block)
                    sent += len(block)
                    bar.update(len(block))
            response = connection.getresponse()
            body = response.read()
            connection.close()
        except (OSError, http.client.HTTPException) as error:
            bar.update(-sent)
            if attempt + 1 == attempts:
                raise ApiFailure(f"The upload kept breaking off ({type(error).__name__}); run the command again to resume.") from None
            time.sleep(2**attempt)
            continue
        if response.status >= 300:
            raise ApiFailure(f"The upload was refused (HTTP {response.status}): {body[:200].decode(errors='replace')}")
        return


def download(url: str, target: Path) -> None:
    """GET a signed URL into ``target`` atomically."""
    with urllib.request.urlopen(url, timeout=300) as response:
        save_stream(iter(lambda: response.read(BLOCK), b""), target)
