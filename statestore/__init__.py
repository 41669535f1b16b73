"""Object storage with compare-and-swap: one contract, several backends.

Owns: the storage contract (:class:`ObjectStore`), the local, S3, R2 and
LocalStack backends, key validation, signed URLs of the local backend, retry
with backoff, and the storage settings (:mod:`.settings`, the one place this
package reads the environment).  May import: nothing of this project.
"""

from .base import ListPage, ObjectInfo, ObjectStore, StoredObject, UploadedPart
from .errors import (
    AccessDenied,
    BucketNotFound,
    ConfigurationError,
    InvalidKey,
    InvalidUpload,
    ObjectNotFound,
    PreconditionFailed,
    StorageUnavailable,
    StoreError,
)
from .settings import StorageSettings, open_store

__all__ = [
    "AccessDenied", "BucketNotFound", "ConfigurationError", "InvalidKey", "InvalidUpload", "ListPage", "ObjectInfo",
    "ObjectNotFound", "ObjectStore", "PreconditionFailed", "StorageSettings", "StorageUnavailable",
    "StoreError", "StoredObject", "UploadedPart", "open_store",
]
