"""Errors raised by every storage backend.

Backends translate their native failures (botocore ``ClientError``, ``OSError``)
into these, so callers never depend on which backend they talk to.  Messages
are written for people and never contain credentials.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class for storage failures."""

    code = "storage_error"


class InvalidKey(StoreError):
    """The key is empty, absolute, or tries to escape its prefix."""

    code = "invalid_key"


class ObjectNotFound(StoreError):
    """No object exists under the key."""

    code = "not_found"


class PreconditionFailed(StoreError):
    """A conditional write lost: the ETag changed, or the key already exists.

    Never retried by the storage layer: the caller re-reads and decides.
    """

    code = "precondition_failed"


class NotSupported(StoreError):
    """The storage service does not implement a feature of the request (HTTP 501)."""

    code = "not_supported"


class InvalidUpload(StoreError):
    """Parts that S3 or R2 would refuse to join (too small, or of different sizes)."""

    code = "invalid_upload"


class BucketNotFound(StoreError):
    """The configured bucket does not exist (run ``ergo storage init``)."""

    code = "bucket_not_found"


class AccessDenied(StoreError):
    """The credentials were refused by the storage service."""

    code = "access_denied"


class StorageUnavailable(StoreError):
    """The service kept failing (throttling, 5xx, connection) after retries."""

    code = "storage_unavailable"


class ConfigurationError(StoreError):
    """The storage settings are incomplete or inconsistent."""

    code = "configuration_error"


class SignatureInvalid(StoreError):
    """A signed URL of the local backend was altered, signed with another secret, or has expired."""

    code = "signature_invalid"
