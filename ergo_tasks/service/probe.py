"""Is an upload a video at all?  A look at its first bytes, when the upload completes and before a job is queued.

Without it a text file renamed ``.mp4`` is uploaded, queued, handed to a worker and fails there minutes later.
Every container the service accepts (:data:`~ergo_tasks.service.uploads.VIDEO_TYPES`) says what it is in its
first twelve bytes; whether its streams decode is still the worker's question (``pipeline.video.probe``).
"""

from __future__ import annotations

from statestore import ObjectStore

from .errors import ServiceError

#: How many bytes are read: the longest signature below ends at byte 12.
HEAD_BYTES = 64
#: ISO base media (MP4, MOV, M4V) files begin with a box: four bytes of size, then its type.
_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


def container_of(head: bytes) -> str | None:
    """The container family ``head`` (a file's first bytes) begins like, or None."""
    if head[4:8] in _ISO_BOXES:
        return "MP4/MOV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML
        return "MKV/WebM"
    return None


def check_video(store: ObjectStore, key: str) -> None:
    """Raise a :class:`ServiceError` in words unless the object at ``key`` begins like a video container."""
    chunks = store.iter_chunks(key, HEAD_BYTES)
    try:
        head = next(chunks, b"")
    finally:
        chunks.close()
    if container_of(head) is None:
        name = key.rsplit("/", 1)[-1]
        raise ServiceError(f'"{name}" is not a video this service can read: it does not begin like an MP4, MOV, AVI, MKV '
                           "or WebM file (a file of another kind renamed to .mp4 stays what it was). Choose the video "
                           "file itself.", code="invalid_file_type")
