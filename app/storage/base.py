"""The storage interface and its error categories.

Keys passed in and out are always relative to the images area, WITHOUT
`S3_IMAGES_PREFIX` (for example `12/cover.jpg`): only the S3 implementation
adds its prefix, so a doubled prefix (`books/books/…`) cannot be built.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


class StorageError(RuntimeError):
    """A storage operation failed and retrying will not help (access denied, no such bucket)."""


class ObjectNotFoundError(StorageError):
    """The key does not exist. Permanent: the job fails with a named reason."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object at key {key!r}")
        self.key = key


class TransientStorageError(StorageError):
    """Throttling, a 5xx or a lost connection: the worker retries with backoff."""


class InvalidKeyError(StorageError, ValueError):
    """A key that could escape its area (absolute, `..`, empty segment)."""


def check_key(key: str) -> str:
    """`key` if it is a clean relative key; raises InvalidKeyError otherwise."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise InvalidKeyError(f"invalid storage key {key!r}")
    return key


@dataclass(frozen=True)
class StoredObject:
    """One object of an area, as a listing shows it."""

    key: str  # relative to the area, like every key
    last_modified: datetime  # timezone-aware


class Storage(ABC):
    """One area of object storage (the book images, or the listings drop zone)."""

    name: str = "storage"

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    @abstractmethod
    def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""

    @abstractmethod
    def delete_many(self, keys: Sequence[str]) -> list[str]:
        """Remove every key in as few requests as the backend allows; the keys it could not
        remove (each logged). A failure of the whole request raises, as `delete` does."""

    @abstractmethod
    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key starting with `prefix`, in lexical order."""

    @abstractmethod
    def list_objects(self, *, start_after: str = "", max_keys: int) -> list[StoredObject]:
        """At most `max_keys` objects whose keys sort after `start_after`, in lexical order:
        one page of the area; the last key returned is where the next page starts. Fewer than
        `max_keys` means the area has no more."""

    def link(self, key: str, *, expires_in: int) -> str | None:
        """A URL a browser can fetch the object from for `expires_in` seconds, made without a
        request (the review page's images); None where the backend has no such thing."""
        return None

    @abstractmethod
    def check(self) -> None:
        """Raise StorageError unless the area is reachable (deep health, start-up checks)."""

    def copy(self, source_key: str, dest_key: str) -> None:
        """Copy within this area."""
        self.copy_from(self, source_key, dest_key)

    def copy_from(self, source: Storage, source_key: str, dest_key: str) -> None:
        """Copy `source_key` of another area to `dest_key` here (server-side where possible)."""
        data = source.get(source_key)
        self.put(dest_key, data, content_type=source.content_type(source_key))

    def content_type(self, key: str) -> str:
        """The stored content type of `key`, when the backend records one."""
        return "application/octet-stream"

    def describe(self) -> str:
        """Where the area lives, for logs and /admin/system-info (no credentials)."""
        return self.name
