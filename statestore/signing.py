"""HMAC-signed, expiring URLs for the embedded backend.

S3 and R2 sign their own URLs (SigV4).  The ``local`` backend has no service
to do that, so its URLs point at the project's own HTTP server (``ergo serve``),
which checks them with :func:`verify`.  The signature covers the method, the
key and the expiry, so a URL for one upload cannot be bent to another key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote, urlencode

from .errors import SignatureInvalid


def _mac(secret: bytes, method: str, key: str, expires: int) -> str:
    message = f"{method.upper()}\n{key}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign_url(base_url: str, secret: bytes, method: str, key: str, expires_in: int, now: float | None = None) -> str:
    """A URL under ``{base_url}/storage/`` valid for ``expires_in`` seconds."""
    expires = int((now if now is not None else time.time()) + expires_in)
    query = urlencode({"method": method.upper(), "expires": expires, "signature": _mac(secret, method, key, expires)})
    return f"{base_url.rstrip('/')}/storage/{quote(key)}?{query}"


def verify(secret: bytes, method: str, key: str, expires: int | str, signature: str, now: float | None = None) -> None:
    """Raise :class:`SignatureInvalid` unless the signature is right and unexpired."""
    try:
        expires_at = int(expires)
    except (TypeError, ValueError):
        raise SignatureInvalid("The link is malformed.") from None
    expected = _mac(secret, method, key, expires_at)
    if not hmac.compare_digest(expected, str(signature)):
        raise SignatureInvalid("The link's signature is not valid.")
    if (now if now is not None else time.time()) > expires_at:
        raise SignatureInvalid("The link has expired; ask for a new one.")
