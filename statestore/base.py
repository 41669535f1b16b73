"""The one storage contract every backend implements.

It is the subset of S3 the system needs, with S3's semantics: ETags identify
versions, conditional writes give compare-and-swap, listing is lexicographic
and paginated, and large files move in streams, never whole in memory.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from .errors import InvalidUpload, ObjectNotFound

#: Chunk size for streamed copies (also the S3 multipart part size).
CHUNK_SIZE = 8 * 1024 * 1024
#: The least size of every part of a multipart upload but the last (AWS S3 and R2; both emulators check it too).
MIN_PART_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    etag: str


@dataclass(frozen=True)
class UploadedPart:
    """One part of a multipart upload, as storage holds it."""

    number: int
    size: int
    etag: str


def check_parts(key: str, parts: list[UploadedPart]) -> None:
    """Refuse, before storage is asked, to join parts that AWS S3 or R2 would refuse: every part but the last
    at least :data:`MIN_PART_BYTES` and, as R2 requires, all of one size.  Neither emulator checks the second
    rule (LocalStack and moto join 6, 5 and 1 MiB), so every backend checks both here."""
    ordered = sorted(parts, key=lambda part: part.number)
    leading = ordered[:-1]
    if any(part.size < MIN_PART_BYTES for part in leading):
        raise InvalidUpload(f"Every part of the upload to '{key}' but the last must hold at least {MIN_PART_BYTES} bytes.")
    if len({part.size for part in leading}) > 1:
        raise InvalidUpload(f"Every part of the upload to '{key}' but the last must be of one size (Cloudflare R2 requires it).")


@dataclass(frozen=True)
class ListPage:
    items: list[ObjectInfo]
    #: Pass back as ``start_after`` to get the next page; ``None`` on the last page.
    next_start_after: str | None


class ObjectStore(abc.ABC):
    """Object storage with compare-and-swap.

    ``put(..., if_match=etag)`` succeeds only if the object still has that
    ETag; ``put(..., if_none_match=True)`` only if the key does not exist.
    Either raises :class:`~statestore.errors.PreconditionFailed` on a lost race.
    """

    #: Short name of the backend (``local``, ``s3``, ``r2``, ``localstack``).
    provider: str = "abstract"

    # -- small objects -----------------------------------------------------
    @abc.abstractmethod
    def get(self, key: str) -> StoredObject:
        """Read a whole (small) object with its ETag."""

    @abc.abstractmethod
    def put(
        self,
        key: str,
        body: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        content_type: str = "application/octet-stream",
    ) -> str:
        """Write ``body`` and return the new ETag."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Size, ETag and modification time, without the body."""

    @abc.abstractmethod
    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete ``key``; deleting a missing key is not an error (as in S3).

        With ``if_match``, only the version with that ETag is deleted: PreconditionFailed if the object
        changed since it was read (so a job resumed meanwhile is never purged).
        """

    @abc.abstractmethod
    def list_page(self, prefix: str, *, start_after: str | None = None, limit: int = 1000) -> ListPage:
        """One page of keys under ``prefix`` in lexicographic order."""

    # -- large objects -----------------------------------------------------
    @abc.abstractmethod
    def upload_fileobj(self, key: str, fileobj: BinaryIO, *, content_type: str = "application/octet-stream") -> str:
        """Stream a file-like object into ``key`` (multipart where supported)."""

    @abc.abstractmethod
    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Stream an object's bytes in chunks."""

    # -- signed URLs -------------------------------------------------------
    @abc.abstractmethod
    def presign_put(self, key: str, expires_in: int, content_type: str | None = None, *, size: int | None = None,
                    new_only: bool = False) -> str:
        """A URL that lets its bearer upload to ``key`` until it expires.

        With ``size``, only a body of exactly that many bytes is accepted (the length is signed); with
        ``new_only``, only while ``key`` does not exist (the request must carry ``If-None-Match: *``),
        so the URL cannot replace what it uploaded.
        """

    # -- uploads in parts (a browser or client sends a large file straight to storage) ----------
    @abc.abstractmethod
    def start_upload(self, key: str, content_type: str = "application/octet-stream") -> str:
        """Begin a multipart upload to ``key``; returns its id."""

    @abc.abstractmethod
    def presign_part(self, key: str, upload_id: str, number: int, size: int, expires_in: int) -> str:
        """A URL to PUT part ``number`` (1-based) of exactly ``size`` bytes."""

    @abc.abstractmethod
    def uploaded_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """The parts received so far, by number; ObjectNotFound if the upload is not in progress."""

    @abc.abstractmethod
    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart]) -> str:
        """Join ``parts`` into ``key``, which must not exist yet (PreconditionFailed if it does); returns its ETag.

        InvalidUpload if the parts break the rules of AWS S3 or R2 (:func:`check_parts`), whatever the backend."""

    @abc.abstractmethod
    def abort_upload(self, key: str, upload_id: str) -> None:
        """Drop an upload in progress and its parts (nothing happens if it is already gone)."""

    @abc.abstractmethod
    def presign_get(self, key: str, expires_in: int, filename: str | None = None) -> str:
        """A URL that lets its bearer download ``key`` until it expires."""

    # -- bucket --------------------------------------------------------------
    @abc.abstractmethod
    def check(self) -> None:
        """Raise a clear error if the bucket is missing or access is denied."""

    # -- conveniences built on the primitives --------------------------------
    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True

    def list(self, prefix: str, *, start_after: str | None = None, page_size: int = 1000) -> Iterator[ObjectInfo]:
        """Every key under ``prefix``, following pagination lazily."""
        while True:
            page = self.list_page(prefix, start_after=start_after, limit=page_size)
            yield from page.items
            if page.next_start_after is None:
                return
            start_after = page.next_start_after

    def upload_file(self, key: str, path: str | Path, *, content_type: str = "application/octet-stream") -> str:
        with open(path, "rb") as fileobj:
            return self.upload_fileobj(key, fileobj, content_type=content_type)

    def download_file(self, key: str, path: str | Path) -> None:
        """Stream ``key`` to ``path`` atomically (a partial download never appears)."""
        save_stream(self.iter_chunks(key), path)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many were deleted."""
        keys = [info.key for info in self.list(prefix)]
        for key in keys:
            self.delete(key)
        return len(keys)


def save_stream(chunks: Iterable[bytes], path: str | Path) -> None:
    """Write ``chunks`` to ``path`` atomically: through ``<name>.part``, renamed once complete, removed on failure."""
    path = Path(path)
    partial = path.with_name(path.name + ".part")
    try:
        with open(partial, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
