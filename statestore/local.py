"""The embedded backend: S3 semantics on a local directory.

Layout under ``root``::

    objects/<key>   body + JSON trailer (etag, content type) + 8-byte trailer length
    locks/<nn>      256 lock stripes (fcntl) serialising writers of the same key
    tmp/            files being written; renamed into objects/ when complete
    parts/<id>/     a multipart upload in progress: meta.json and one file per part

Every write goes to ``tmp/`` and is published with one ``os.replace``, so a
reader or a crash never sees half an object, and the ETag can never disagree
with the body.  Conditional writes check the current ETag while holding the
key's lock, which makes them a real compare-and-swap across processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import struct
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from . import signing
from .base import CHUNK_SIZE, ListPage, ObjectInfo, ObjectStore, StoredObject, UploadedPart, check_parts
from .errors import ObjectNotFound, PreconditionFailed
from .keys import validate_key, validate_prefix

_TRAILER_LEN = struct.Struct(">Q")
_LOCK_STRIPES = 256
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


class LocalStore(ObjectStore):
    provider = "local"

    #: A file in tmp/ untouched this long belongs to a write that died (a killed upload): removed at start-up.
    STALE_TMP_SECONDS = 3600.0
    #: A multipart upload untouched this long is dropped at start-up, as the bucket's lifecycle rule does on S3.
    STALE_UPLOAD_SECONDS = 86400.0

    def __init__(self, root: str | Path, *, public_url: str = "http://127.0.0.1:8000", signing_key: bytes | None = None):
        self.root = Path(root)
        self.public_url = public_url
        for sub in ("objects", "locks", "tmp", "parts"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.signing_key = signing_key or self._load_or_create_signing_key()
        self.removed_stale = self._remove_stale_tmp()

    def _remove_stale_tmp(self) -> int:
        """Delete what killed writes left in tmp/ (a write in progress keeps touching its file, so it is spared)."""
        removed, cutoff = 0, time.time() - self.STALE_TMP_SECONDS
        for upload in (self.root / "parts").iterdir():
            with contextlib.suppress(FileNotFoundError):
                # the folder's own time counts: one another process has just made has no meta.json yet
                touched = max([upload.stat().st_mtime, *(f.stat().st_mtime for f in upload.iterdir())])
                if touched < time.time() - self.STALE_UPLOAD_SECONDS:
                    shutil.rmtree(upload, ignore_errors=True)
                    removed += 1
        for leftover in (self.root / "tmp").iterdir():
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
        return removed

    # -- paths and locks ---------------------------------------------------
    def _path(self, key: str) -> Path:
        return self.root / "objects" / validate_key(key)

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        stripe = hashlib.sha1(key.encode()).digest()[0] % _LOCK_STRIPES
        with open(self.root / "locks" / f"{stripe:02x}", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _load_or_create_signing_key(self) -> bytes:
        path = self.root / "signing.key"
        try:
            return bytes.fromhex(path.read_text().strip())
        except FileNotFoundError:
            pass
        tmp = self.root / "tmp" / f"signing-{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # first process wins; the others read its key
        tmp.unlink()
        return bytes.fromhex(path.read_text().strip())

    # -- object file format -------------------------------------------------
    @staticmethod
    def _read_trailer(handle: BinaryIO) -> tuple[dict, int]:
        """Return (trailer, body size) of an open object file."""
        end = handle.seek(0, os.SEEK_END)
        handle.seek(end - _TRAILER_LEN.size)
        (trailer_len,) = _TRAILER_LEN.unpack(handle.read(_TRAILER_LEN.size))
        body_size = end - _TRAILER_LEN.size - trailer_len
        handle.seek(body_size)
        trailer = json.loads(handle.read(trailer_len))
        handle.seek(0)
        return trailer, body_size

    def _open(self, key: str) -> tuple[BinaryIO, dict, int]:
        path = self._path(key)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - the caller owns and closes the handle
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(f"No object named '{key}'.") from None
        trailer, size = self._read_trailer(handle)
        return handle, trailer, size

    def _current_etag(self, key: str) -> str | None:
        try:
            handle, trailer, _ = self._open(key)
        except ObjectNotFound:
            return None
        handle.close()
        return trailer["etag"]

    def _write(self, key: str, chunks: Iterator[bytes], content_type: str, if_match: str | None, if_none_match: bool) -> str:
        path = self._path(key)
        tmp = self.root / "tmp" / uuid.uuid4().hex
        digest = hashlib.md5(usedforsecurity=False)
        try:
            # Stream the body before taking the lock: a 5 GB upload must not
            # block status writes that happen to share its lock stripe.
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
                etag = f'"{digest.hexdigest()}"'
                trailer = json.dumps({"etag": etag, "content_type": content_type}).encode()
                out.write(trailer + _TRAILER_LEN.pack(len(trailer)))
                out.flush()
                os.fsync(out.fileno())
            with self._locked(key):
                current = self._current_etag(key)
                if if_none_match and current is not None:
                    raise PreconditionFailed(f"'{key}' already exists.")
                if if_match is not None and current != if_match:
                    raise PreconditionFailed(f"'{key}' changed since it was read (ETag mismatch).")
                self._publish(tmp, path)
            return etag
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _publish(tmp: Path, path: Path) -> None:
        for _ in range(5):  # a concurrent delete may remove an emptied parent directory
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(tmp, path)
                return
            except FileNotFoundError:
                continue
        os.replace(tmp, path)

    # -- contract ----------------------------------------------------------
    def get(self, key: str) -> StoredObject:
        handle, trailer, size = self._open(key)
        with handle:
            return StoredObject(body=handle.read(size), etag=trailer["etag"])

    def put(self, key, body, *, if_match=None, if_none_match=False, content_type="application/octet-stream") -> str:
        return self._write(key, iter([bytes(body)]), content_type, if_match, if_none_match)

    def head(self, key: str) -> ObjectInfo:
        handle, trailer, size = self._open(key)
        with handle:
            mtime = os.fstat(handle.fileno()).st_mtime
        return ObjectInfo(key=key, size=size, etag=trailer["etag"], last_modified=datetime.fromtimestamp(mtime, UTC))

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        path = self._path(key)
        with self._locked(key):
            if if_match is not None and self._current_etag(key) not in (None, if_match):
                raise PreconditionFailed(f"'{key}' changed since it was read (ETag mismatch); it was not deleted.")
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                path.unlink()
        self._prune_empty_dirs(path.parent)

    def _prune_empty_dirs(self, directory: Path) -> None:
        objects = self.root / "objects"
        while directory != objects and objects in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def list_page(self, prefix: str, *, start_after: str | None = None, limit: int = 1000) -> ListPage:
        validate_prefix(prefix)
        objects = self.root / "objects"
        base = objects / prefix.rsplit("/", 1)[0] if "/" in prefix else objects
        keys = sorted(
            key
            for key in self._walk(base, objects)
            if key.startswith(prefix) and (start_after is None or key > start_after)
        )
        items = []
        for key in keys:
            if len(items) == limit:
                return ListPage(items=items, next_start_after=items[-1].key)
            with contextlib.suppress(ObjectNotFound):  # deleted while listing
                items.append(self.head(key))
        return ListPage(items=items, next_start_after=None)

    @staticmethod
    def _walk(base: Path, objects: Path) -> Iterator[str]:
        if not base.is_dir():
            return
        for dirpath, _, filenames in os.walk(base):
            rel = Path(dirpath).relative_to(objects).as_posix()
            for name in filenames:
                yield name if rel == "." else f"{rel}/{name}"

    def upload_fileobj(self, key, fileobj, *, content_type="application/octet-stream", new_only: bool = False) -> str:
        return self._write(key, iter(lambda: fileobj.read(CHUNK_SIZE), b""), content_type, None, new_only)

    # -- uploads in parts ----------------------------------------------------------------------
    def _upload_dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id or ""):
            raise ObjectNotFound("That is not an upload id.")
        return self.root / "parts" / upload_id

    def _upload_meta(self, key: str, upload_id: str) -> dict:
        try:
            meta = json.loads((self._upload_dir(upload_id) / "meta.json").read_text())
        except FileNotFoundError:
            meta = {}
        if meta.get("key") != validate_key(key):
            raise ObjectNotFound(f"No upload to '{key}' is in progress with that id (completed, aborted or expired).")
        return meta

    def start_upload(self, key: str, content_type: str = "application/octet-stream") -> str:
        upload_id = secrets.token_hex(16)
        folder = self._upload_dir(upload_id)
        folder.mkdir()
        (folder / "meta.json").write_text(json.dumps({"key": validate_key(key), "content_type": content_type}))
        return upload_id

    def put_part(self, key: str, upload_id: str, number: int, fileobj: BinaryIO) -> str:
        """Store one part (what the gateway does with a request to a :meth:`presign_part` URL)."""
        self._upload_meta(key, upload_id)
        folder = self._upload_dir(upload_id)
        tmp = folder / f"{number:05d}.{uuid.uuid4().hex}.tmp"
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with open(tmp, "wb") as out:
                for chunk in iter(lambda: fileobj.read(CHUNK_SIZE), b""):
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(tmp, folder / f"{number:05d}")  # a part sent again replaces the first, as on S3
        finally:
            tmp.unlink(missing_ok=True)
        return f'"{digest.hexdigest()}"'

    def presign_part(self, key: str, upload_id: str, number: int, size: int, expires_in: int) -> str:
        return signing.sign_url(self.public_url, self.signing_key, "PUT", validate_key(key), expires_in,
                                conditions={"upload_id": upload_id, "part": number, "size": size})

    def uploaded_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        self._upload_meta(key, upload_id)
        parts = []
        for path in sorted(self._upload_dir(upload_id).glob("[0-9]" * 5)):
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            parts.append(UploadedPart(number=int(path.name), size=path.stat().st_size, etag=f'"{digest}"'))
        return parts

    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart]) -> str:
        meta = self._upload_meta(key, upload_id)
        check_parts(key, parts)
        folder = self._upload_dir(upload_id)
        paths = [folder / f"{part.number:05d}" for part in sorted(parts, key=lambda p: p.number)]
        if not all(path.exists() for path in paths):
            raise PreconditionFailed(f"A part of the upload to '{key}' is missing.")

        def chunks() -> Iterator[bytes]:
            for path in paths:
                with open(path, "rb") as part:
                    yield from iter(lambda: part.read(CHUNK_SIZE), b"")  # noqa: B023 - read before the next part opens

        etag = self._write(key, chunks(), meta["content_type"], None, True)
        shutil.rmtree(folder, ignore_errors=True)
        return etag

    def abort_upload(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(ObjectNotFound):
            self._upload_meta(key, upload_id)
            shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE, *, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The object's bytes in chunks; from ``start`` up to ``stop`` (exclusive; the end by default), for the
        storage route's Range requests (a browser seeks in a video by asking for the part it needs)."""
        handle, _, size = self._open(key)
        with handle:
            handle.seek(min(start, size))
            remaining = max(0, min(size, size if stop is None else stop) - start)
            while remaining > 0:
                chunk = handle.read(min(chunk_size, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def content_type(self, key: str) -> str:
        handle, trailer, _ = self._open(key)
        handle.close()
        return trailer.get("content_type", "application/octet-stream")

    def presign_put(self, key: str, expires_in: int, content_type: str | None = None, *, size: int | None = None,
                    new_only: bool = False) -> str:
        conditions = {**({"size": size} if size is not None else {}), **({"new_only": 1} if new_only else {})}
        return signing.sign_url(self.public_url, self.signing_key, "PUT", validate_key(key), expires_in, conditions=conditions)

    def presign_get(self, key: str, expires_in: int, filename: str | None = None) -> str:
        return signing.sign_url(self.public_url, self.signing_key, "GET", validate_key(key), expires_in,
                                conditions={"filename": filename} if filename else None)

    def verify_signed(self, method: str, key: str, query: Mapping[str, str]) -> dict[str, str]:
        """Check a URL made by :meth:`presign_put`, :meth:`presign_part` or :meth:`presign_get`; returns its conditions."""
        return signing.verify(self.signing_key, method, validate_key(key), query)

    def check(self) -> None:
        (self.root / "objects").stat()
