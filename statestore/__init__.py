"""Object storage with compare-and-swap: one contract, several backends."""

from .base import ListPage, ObjectInfo, ObjectStore, StoredObject
from .config import StorageSettings, open_store
from .errors import (
    AccessDenied,
    BucketNotFound,
    ConfigurationError,
    InvalidKey,
    ObjectNotFound,
    PreconditionFailed,
    StorageUnavailable,
    StoreError,
)

__all__ = [
    "AccessDenied", "BucketNotFound", "ConfigurationError", "InvalidKey", "ListPage", "ObjectInfo",
    "ObjectNotFound", "ObjectStore", "PreconditionFailed", "StorageSettings", "StorageUnavailable",
    "StoreError", "StoredObject", "open_store",
]
