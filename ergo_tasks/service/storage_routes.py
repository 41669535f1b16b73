"""Where the embedded ``local`` storage's signed URLs point: ``PUT`` and ``GET /storage/<key>``.

Mounted only when the service stores in a local directory.  Every request is checked as S3 would check the
same URL: its signature, expiry and conditions (the size it was signed for, ``If-None-Match: *`` for a new
video only, the file name a download saves as); an upload is streamed to a spool file, capped at the
upload limit, and stored only once it arrived whole at its signed size.  A download answers a ``Range``
request with the bytes asked for (206), as S3 and R2 do: the page's video player seeks that way, and
without it a browser cannot jump to a moment of the video (it answers seeks with the start).
"""

from __future__ import annotations

import html
import re
import tempfile
from typing import IO, Annotated, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from statestore import ObjectNotFound, PreconditionFailed
from statestore.errors import InvalidKey, SignatureInvalid
from statestore.local import LocalStore

from .access import Gateway, Refused, gateway

router = APIRouter(prefix="/storage", include_in_schema=False)

_SAFE_NAME = re.compile(r'[^A-Za-z0-9._-]')
_BYTE_RANGE = re.compile(r"(\d*)-(\d*)")
_LINK_REFUSED = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Download link not valid</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>This download link cannot be used</h1><p>{reason}</p>
<p>Download links last a few minutes. Go back to the results page and choose the file again:
each click makes a new link.</p></body></html>"""


async def local_store(gate: Annotated[Gateway, Depends(gateway)]) -> LocalStore:
    """The service's store: a :class:`LocalStore`, since these routes are mounted for that one only."""
    return cast(LocalStore, gate.service.store)


async def max_bytes(gate: Annotated[Gateway, Depends(gateway)]) -> int:
    return gate.service.settings.max_upload_bytes


class Signed:
    """The dependency that checks a URL was signed for this method and key, and gives its conditions.

    A person who opened a refused download link (their browser asks for HTML) is answered in words on a page.
    """

    def __init__(self, method: str):
        self.method = method

    async def __call__(self, key: str, request: Request, store: Annotated[LocalStore, Depends(local_store)]) -> dict[str, str]:
        query = request.query_params
        try:
            if query.get("method") != self.method:
                raise SignatureInvalid("The link is not for this operation.")
            return store.verify_signed(self.method, key, query)
        except (SignatureInvalid, InvalidKey) as error:
            if self.method == "GET" and "text/html" in request.headers.get("accept", ""):
                raise Refused(HTMLResponse(_LINK_REFUSED.format(reason=html.escape(str(error))), status_code=403)) from None
            raise Refused.because("invalid_signature", str(error)) from None


@router.put("/{key:path}")
async def upload(key: str, request: Request, conditions: Annotated[dict[str, str], Depends(Signed("PUT"))],
                 store: Annotated[LocalStore, Depends(local_store)], limit: Annotated[int, Depends(max_bytes)]) -> JSONResponse:
    content_type = _upload_type(key, request, conditions)
    size = int(conditions["size"]) if "size" in conditions else None
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > (size if size is not None else limit):
        raise _too_large(limit) if size is None or int(declared) > limit else _wrong_size(size)
    with tempfile.TemporaryFile(prefix="ergo-upload-") as spool:
        received = await _receive(request, spool, size, limit)
        etag = await _keep(store, key, conditions, spool, content_type)
    return JSONResponse({"status": "success", "size": received}, headers={"ETag": etag})


@router.get("/{key:path}")
async def download(key: str, request: Request, conditions: Annotated[dict[str, str], Depends(Signed("GET"))],
                   store: Annotated[LocalStore, Depends(local_store)]) -> StreamingResponse:
    try:
        size = store.head(key).size
        content_type = store.content_type(key)
    except ObjectNotFound:
        raise Refused.because("job_not_found", "That file no longer exists.") from None
    name = _SAFE_NAME.sub("_", conditions.get("filename") or key.rsplit("/", 1)[-1])  # the name the link was signed for
    headers = {"Accept-Ranges": "bytes", "Content-Disposition": f'attachment; filename="{name}"'}
    asked = byte_range(request.headers.get("range"), size)
    if asked is None:
        return StreamingResponse(store.iter_chunks(key, 1 << 20), media_type=content_type,
                                 headers={**headers, "Content-Length": str(size)})
    start, stop = asked
    return StreamingResponse(store.iter_chunks(key, 1 << 20, start=start, stop=stop), status_code=206, media_type=content_type,
                             headers={**headers, "Content-Length": str(stop - start), "Content-Range": f"bytes {start}-{stop - 1}/{size}"})


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The bytes ``[start, stop)`` a ``Range`` header asks for, or None for the whole object: no header, a unit other
    than bytes (ignored, RFC 9110 section 14.2), or several ranges (answered whole, as S3 answers them; a browser
    asks for one).  A range that is malformed or starts past the end is refused (416, with the object's size)."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _BYTE_RANGE.fullmatch(spec.strip())
    first, last = match.groups() if match else ("", "")
    if first:
        start, stop = int(first), size if not last else min(size, int(last) + 1)
    elif last:  # a suffix: the last bytes
        start, stop = max(0, size - int(last)), size if int(last) else 0
    else:
        start, stop = 0, 0
    if start >= stop:
        raise Refused.because("range_not_satisfiable", f"The range {header!r} is not within the file's {size} bytes.",
                              {"Content-Range": f"bytes */{size}"})
    return start, stop


def _upload_type(key: str, request: Request, conditions: dict[str, str]) -> str:
    """The upload's content type, once the key, the type and the conditional header are what a video upload has."""
    if not key.startswith("uploads/"):
        raise Refused.because("invalid_signature", "Uploads go under uploads/ only.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and not content_type.startswith(("video/", "application/octet-stream")):
        raise Refused.because("unsupported_media_type", "Only video files can be uploaded.")
    if conditions.get("new_only") and request.headers.get("if-none-match") != "*":
        raise Refused.because("invalid_signature", "This link needs the header If-None-Match: * (it was signed with it).")
    return content_type


async def _receive(request: Request, spool: IO[bytes], size: int | None, limit: int) -> int:
    """Stream the body into ``spool``, refusing it as soon as it passes ``limit`` or the signed ``size``;
    the bytes received, rewound for reading."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        if size is not None and received > size:
            raise _wrong_size(size)
        spool.write(chunk)
    if received == 0:
        raise Refused.because("invalid_input", "The upload was empty.")
    if size is not None and received != size:
        raise _wrong_size(size)
    spool.seek(0)
    return received


async def _keep(store: LocalStore, key: str, conditions: dict[str, str], spool: IO[bytes], content_type: str) -> str:
    """Store the spooled upload (a part of an upload in parts, or the whole video, never over an existing one);
    its ETag."""
    try:
        if "upload_id" in conditions:
            return await run_in_threadpool(store.put_part, key, conditions["upload_id"], int(conditions["part"]), spool)
        return await run_in_threadpool(lambda: store.upload_fileobj(
            key, spool, content_type=content_type or "application/octet-stream", new_only=bool(conditions.get("new_only"))))
    except ObjectNotFound as error:
        raise Refused.because("upload_not_found", str(error)) from None
    except PreconditionFailed:
        raise Refused.because("already_uploaded", "This video was uploaded already; a link cannot replace it.") from None


def _too_large(limit: int) -> Refused:
    return Refused.because("file_too_large", f"The video is larger than the {limit / 1024**3:g} GB limit.")


def _wrong_size(size: int) -> Refused:
    return Refused.because("size_mismatch", f"The link was signed for exactly {size} bytes; the upload was another size.")
