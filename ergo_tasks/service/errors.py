"""The service's exceptions, and the one table from error codes to HTTP statuses.

Every expected exception in this project carries a stable ``code`` (the
engine's :class:`~ergo_tasks.errors.EngineError`, storage's
:class:`~statestore.StoreError`, these); the service answers with that code
and the exception's message, so no code is mapped by hand anywhere.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An expected failure of a job action; its message is written for the caller."""

    code = "invalid_input"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class DispatchError(ServiceError):
    """The job could not be handed to an executor (it stays queued)."""

    code = "dispatch_failed"


class UpstreamUnavailable(ServiceError):
    """RunPod did not answer, or answered with an error."""

    code = "upstream_unavailable"


class ApiFailure(ServiceError):
    """What the API client (``ergo submit``) raises when a call or a transfer fails."""

    code = "api_failure"


HTTP_STATUS = {
    "invalid_input": 400, "unknown_action": 400, "invalid_file_type": 400, "invalid_job_id": 400,
    "unauthorized": 401, "forbidden": 403, "invalid_signature": 403,
    "job_not_found": 404, "upload_not_found": 404, "not_found": 404, "method_not_allowed": 405,
    "invalid_host": 421,
    "not_ready": 409, "results_expired": 410, "invalid_state": 409, "illegal_transition": 409, "conflict": 409,
    "file_too_large": 413, "body_too_large": 413, "size_mismatch": 400, "already_uploaded": 412,
    "upload_incomplete": 409, "unsupported_media_type": 415, "range_not_satisfiable": 416, "rate_limited": 429,
    "internal_error": 500, "corrupt_status": 500,
    "dispatch_failed": 502, "upstream_unavailable": 502, "upstream_error": 502,
    "storage_error": 503,
}


def error_reply(code: str, message: str) -> dict:
    """The error envelope every transport answers with."""
    return {"status": "error", "error": message, "code": code}


def http_status(reply: dict) -> int:
    """The HTTP status of an answer envelope (200 for success; 400 for a code without an entry)."""
    return 200 if reply.get("status") == "success" else HTTP_STATUS.get(reply.get("code"), 400)
