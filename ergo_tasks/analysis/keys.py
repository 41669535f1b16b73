"""Where the analysis keeps its files in the bucket (the engine's ``status/`` and ``queue/`` are its own).

::

    uploads/<random id>/<file name>   videos, uploaded through a signed URL
    checkpoints/<job_id>/             finished chunks of a running analysis
    results/<job_id>/                 the result files of a finished analysis
"""

from __future__ import annotations

import re
import unicodedata
import uuid

UPLOADS = "uploads/"
RESULTS = "results/"
CHECKPOINTS = "checkpoints/"


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
