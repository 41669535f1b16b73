"""Key validation shared by every backend.

Keys look like S3 keys (``status/01J....json``); which keys an application
uses is its own business (the engine names its keys on ``JobStore``, the
analysis on ``ergo_tasks.analysis.keys``).  The embedded backend maps
them onto a directory tree, so a key that could climb out of that tree is
refused everywhere, not only there: every backend behaves the same.
"""

from __future__ import annotations

import re

from .errors import InvalidKey

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
