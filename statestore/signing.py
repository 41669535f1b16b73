"""HMAC-signed, expiring URLs for the embedded backend.

S3 and R2 sign their own URLs (SigV4).  The ``local`` backend has no service
to do that, so its URLs point at the project's own HTTP server (``ergo serve``),
which checks them with :func:`verify`.  The signature covers the method, the
key, the expiry and the URL's *conditions* (the exact size, the upload and
part, write-only-if-new), so a URL for one upload cannot be bent to another key,
a larger body or a replacement.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import quote, urlencode

from .errors import SignatureInvalid

#: The conditions a URL may carry, each signed: the body's exact size, the multipart upload and part it
#: belongs to, "only if the key does not exist yet", and the file name a download is saved under.
CONDITIONS = ("size", "upload_id", "part", "new_only", "filename")


def _mac(secret: bytes, method: str, key: str, expires: int, conditions: dict[str, str]) -> str:
    signed = "".join(f"\n{name}={conditions[name]}" for name in CONDITIONS if name in conditions)
    message = f"{method.upper()}\n{key}\n{expires}{signed}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign_url(base_url: str, secret: bytes, method: str, key: str, expires_in: int, now: float | None = None,
             conditions: dict[str, str] | None = None) -> str:
    """A URL under ``{base_url}/storage/`` valid for ``expires_in`` seconds, on ``conditions``."""
    conditions = {name: str(value) for name, value in (conditions or {}).items()}
    if set(conditions) - set(CONDITIONS):
        raise ValueError(f"Unknown URL conditions: {sorted(set(conditions) - set(CONDITIONS))}.")
    expires = int((now if now is not None else time.time()) + expires_in)
    query = urlencode({"method": method.upper(), "expires": expires, **conditions,
                       "signature": _mac(secret, method, key, expires, conditions)})
    return f"{base_url.rstrip('/')}/storage/{quote(key)}?{query}"


def verify(secret: bytes, method: str, key: str, query: Mapping[str, str], now: float | None = None) -> dict[str, str]:
    """The URL's conditions; raises :class:`SignatureInvalid` unless its signature is right and unexpired."""
    try:
        expires_at = int(query.get("expires", ""))
    except (TypeError, ValueError):
        raise SignatureInvalid("The link is malformed.") from None
    conditions = {name: query[name] for name in CONDITIONS if name in query}
    signature = query.get("signature", "")
    expected = _mac(secret, method, key, expires_at, conditions)
    if not hmac.compare_digest(expected, str(signature)):
        raise SignatureInvalid("The link's signature is not valid.")
    if (now if now is not None else time.time()) > expires_at:
        raise SignatureInvalid("The link has expired; ask for a new one.")
    return conditions
