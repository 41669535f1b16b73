"""Job ids that sort by creation time (ULID layout).

26 characters of Crockford base32: 48 bits of milliseconds since the epoch,
then 80 random bits.  Within one millisecond the random part is incremented,
so ids made by one process are strictly increasing and a listing of
``status/`` is FIFO.  The fixed alphabet also makes an id safe to put in a key:
anything else (``../``, slashes, spaces) is rejected before storage is touched.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

from .errors import InvalidJobId

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PATTERN = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_lock = threading.Lock()
_last: tuple[int, int] = (0, 0)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_job_id(now: float | None = None) -> str:
    global _last
    millis = int((time.time() if now is None else now) * 1000)
    with _lock:
        last_millis, last_random = _last
        if millis <= last_millis:  # same millisecond (or clock went back): stay monotonic
            millis, rand = last_millis, last_random + 1
        else:
            rand = secrets.randbits(80)
        _last = (millis, rand)
    return _encode(millis, 10) + _encode(rand & ((1 << 80) - 1), 16)


def validate_job_id(job_id: object) -> str:
    if not isinstance(job_id, str) or not _PATTERN.match(job_id):
        raise InvalidJobId("That is not a valid job id (expected 26 letters and digits, as returned when the job was created).")
    return job_id


def job_id_time(job_id: str) -> float:
    """Creation time (seconds since the epoch) encoded in a job id."""
    value = 0
    for char in validate_job_id(job_id)[:10]:
        value = value * 32 + _ALPHABET.index(char)
    return value / 1000
