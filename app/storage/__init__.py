"""Object storage: one interface (`Storage`), an S3 and a local-directory implementation."""

from app.storage.base import (
    InvalidKeyError,
    ObjectNotFoundError,
    Storage,
    StorageError,
    TransientStorageError,
)
from app.storage.registry import (
    STORAGE_BACKENDS,
    build_storage,
    get_listings_storage,
    get_storage,
)

__all__ = [
    "STORAGE_BACKENDS",
    "InvalidKeyError",
    "ObjectNotFoundError",
    "Storage",
    "StorageError",
    "TransientStorageError",
    "build_storage",
    "get_listings_storage",
    "get_storage",
]
