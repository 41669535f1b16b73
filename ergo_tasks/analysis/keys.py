"""Where the analysis keeps its files in the bucket (the engine's ``status/`` and ``queue/`` are its own).

::

    uploads/<random id>/<file name>   videos, uploaded through a signed URL; the id's second half is the
                                      owner's tag (:func:`upload_owned_by`)
    checkpoints/<job_id>/             finished chunks of a running analysis
    results/<job_id>/                 the result files of a finished analysis
    results/comparisons/<before>_<after>/   the comparison of two finished analyses (its PDF, and what it shows)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import uuid

UPLOADS = "uploads/"
RESULTS = "results/"
CHECKPOINTS = "checkpoints/"
COMPARISONS = f"{RESULTS}comparisons/"
#: The owner of what an operator starts (the CLI, the RunPod console, a server without tokens).
OPERATOR = "operator"


def checkpoint_prefix(job_id: str) -> str:
    return f"{CHECKPOINTS}{job_id}/"


def results_prefix(job_id: str) -> str:
    return f"{RESULTS}{job_id}/"


def comparison_prefix(before: str, after: str) -> str:
    """Where the comparison of two jobs is kept (job ids are ULIDs: never "comparisons")."""
    return f"{COMPARISONS}{before}_{after}/"


def compared_jobs(key: str) -> list[str]:
    """The two jobs a key under :data:`COMPARISONS` compares."""
    return key[len(COMPARISONS):].split("/", 1)[0].split("_")


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


def upload_key(filename: str, owner: str = OPERATOR) -> str:
    """A fresh key under uploads/: a unique id the client cannot choose, then the sanitised name.

    The id is 16 random hex digits and the owner's tag for them, so every request about an upload can tell
    whether it comes from its owner without a record to look up (see :func:`upload_owned_by`).
    """
    random = uuid.uuid4().hex[:16]
    return f"{UPLOADS}{random}{_owner_tag(random, owner)}/{safe_filename(filename)}"


def upload_owned_by(key: str, owner: str) -> bool:
    """Whether ``key`` (a well-formed upload key) was made for ``owner``: nobody else can make its tag match theirs."""
    upload_id = key[len(UPLOADS):].split("/", 1)[0]
    return hmac.compare_digest(upload_id[16:], _owner_tag(upload_id[:16], owner))


def _owner_tag(random: str, owner: str) -> str:
    return hashlib.sha256(f"{random}:{owner}".encode()).hexdigest()[:16]
