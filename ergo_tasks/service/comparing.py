"""Before and after: what ``compare_jobs`` does between the job store and the pure comparison (issue 28, item 5).

The comparison itself is :func:`pipeline.comparison.compare`, of the two jobs' results as their statuses hold them
(so it still works once the result files have expired).  Its PDF is drawn once and kept under
``results/comparisons/<before>_<after>/`` (:func:`~ergo_tasks.analysis.keys.comparison_prefix`) beside a
``comparison.json`` holding the fingerprint of what it shows; a later request for the same two jobs gets a new link
to the same file, and a new PDF only once either job changed (its task record edited, say) or the drawing did
(:data:`PDF_VERSION`).  Which jobs the caller may compare is the service's rule (its own, as ``get_status``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from pipeline.comparison import Comparison, compare
from pipeline.comparison_report import write_comparison_report
from pipeline.result_model import RESULT_FORMAT, ResultDocument, read_document
from statestore import ObjectNotFound, ObjectStore

from ..analysis.keys import comparison_prefix
from ..analysis.records import record_of
from ..states import State
from ..status import JobStatus
from .errors import ServiceError
from .settings import ServiceSettings
from .views import PUBLIC_STATUS

PDF_NAME = "comparison.pdf"
SHOWN_NAME = "comparison.json"
#: Raised whenever the PDF's drawing changes, so that a stored PDF is drawn again.
PDF_VERSION = 1


def comparison_pdf_key(before: str, after: str) -> str:
    return comparison_prefix(before, after) + PDF_NAME


def result_of(doc: JobStatus) -> ResultDocument:
    """A job's result as its status holds it; a job that has none to compare is refused in words."""
    if doc.state != State.SUCCESS:
        raise ServiceError(f"Job {doc.job_id} has not completed (its status: {PUBLIC_STATUS[doc.state]}): only a completed analysis can be "
                           "compared.", code="not_ready")
    if not isinstance(doc.result, dict) or doc.result.get("format") != RESULT_FORMAT:
        raise ServiceError(f"Job {doc.job_id} has no analysis result to compare.", code="not_ready")
    return read_document(doc.result)


class Comparisons:
    """Compares two jobs and keeps the comparison's PDF, signing links to it with the service's expiry."""

    def __init__(self, store: ObjectStore, settings: ServiceSettings):
        self.store, self.settings = store, settings

    def answer(self, before: JobStatus, after: JobStatus) -> dict:
        """``compare_jobs``'s answer: the comparison as JSON, and a link to its PDF."""
        if before.job_id == after.job_id:
            raise ServiceError("Choose two different analyses to compare (before and after).")
        comparison = compare(result_of(before), result_of(after), record_of(before), record_of(after))
        key = self.stored_pdf(comparison, before.job_id, after.job_id)
        filename = f"comparison-{before.job_id[:8].lower()}-{after.job_id[:8].lower()}.pdf"
        return {"comparison": comparison.model_dump(mode="json"),
                "pdf_url": self.store.presign_get(key, self.settings.download_url_expiry_s, filename),
                "expires_in": self.settings.download_url_expiry_s}

    def stored_pdf(self, comparison: Comparison, before: str, after: str) -> str:
        """The key of the comparison's PDF: the one kept, where it shows what this comparison shows, else drawn now."""
        key, shown_key = comparison_pdf_key(before, after), comparison_prefix(before, after) + SHOWN_NAME
        fingerprint = hashlib.sha256(f"{PDF_VERSION}:{comparison.model_dump_json()}".encode()).hexdigest()
        try:
            kept = json.loads(self.store.get(shown_key).body).get("fingerprint")
        except (ObjectNotFound, ValueError, AttributeError):
            kept = None
        if kept == fingerprint and self.store.exists(key):
            return key
        with tempfile.TemporaryDirectory(prefix="ergo-comparison-") as folder:
            path = write_comparison_report(comparison, Path(folder) / PDF_NAME)
            self.store.upload_file(key, path, content_type="application/pdf")
        # written after the PDF: a fingerprint kept always names a PDF that is whole
        shown = {"fingerprint": fingerprint, "comparison": comparison.model_dump(mode="json")}
        self.store.put(shown_key, json.dumps(shown).encode(), content_type="application/json")
        return key
