"""Key layout and key validation shared by every backend.

Keys look like S3 keys (``status/01J....json``).  The embedded backend maps
them onto a directory tree, so a key that could climb out of that tree is
refused everywhere, not only there: every backend behaves the same.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from .errors import InvalidKey

UPLOADS = "uploads/"
RESULTS = "results/"
STATUS = "status/"
CHECKPOINTS = "checkpoints/"
QUEUE = "queue/"

MAX_KEY_BYTES = 1024
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise :class:`InvalidKey`."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("An object key must be a non-empty string.")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKey(f"An object key may be at most {MAX_KEY_BYTES} bytes long.")
    if _FORBIDDEN.search(key):
        raise InvalidKey("An object key may not contain control characters or backslashes.")
    if key.startswith("/") or key.endswith("/"):
        raise InvalidKey("An object key may not start or end with '/'.")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKey("An object key may not contain empty, '.' or '..' path segments.")
    return key


def validate_prefix(prefix: str) -> str:
    """Prefixes follow the key rules, except that they may be empty or end with '/'."""
    if prefix == "":
        return prefix
    validate_key(prefix.rstrip("/") or "x")
    if prefix.startswith("/"):
        raise InvalidKey("A prefix may not start with '/'.")
    return prefix


def checkpoint_prefix(job_id: str) -> str:
    return f"{CHECKPOINTS}{job_id}/"


def results_prefix(job_id: str) -> str:
    return f"{RESULTS}{job_id}/"


def safe_filename(name: str, max_length: int = 80) -> str:
    """A file name reduced to letters, digits, '.', '-' and '_' (never a path)."""
    base = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    base = base.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,8}", ext):
        stem, ext = base, ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("._-") or "video"
    if not ext:
        return stem[:max_length]
    return f"{stem[: max_length - len(ext) - 1]}.{ext.lower()}"


def upload_key(filename: str) -> str:
    """A fresh key under uploads/: a unique id the client cannot choose, then the sanitised name."""
    return f"{UPLOADS}{uuid.uuid4().hex}/{safe_filename(filename)}"
