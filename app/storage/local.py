"""Storage in a local directory, for the embedded mode and fast tests (no prefix is added)."""

from __future__ import annotations

import logging
import mimetypes
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from app.storage.base import (
    ObjectNotFoundError,
    Storage,
    StorageError,
    StoredObject,
    check_key,
)

logger = logging.getLogger(__name__)


class LocalStorage(Storage):
    name = "local"

    def __init__(self, *, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFoundError(key) from None

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a reader never sees half a file.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def content_type(self, key: str) -> str:
        guessed, _ = mimetypes.guess_type(self.path(key).name)
        return guessed or "application/octet-stream"

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_many(self, keys: Sequence[str]) -> list[str]:
        failed = []
        for key in keys:
            try:
                self.delete(key)
            except (OSError, StorageError) as error:
                logger.warning("could not delete %s: %s", key, error)
                failed.append(key)
        return failed

    def list_keys(self, prefix: str = "") -> list[str]:
        return sorted(key for key in self._keys() if key.startswith(prefix))

    def list_objects(self, *, start_after: str = "", max_keys: int) -> list[StoredObject]:
        # The embedded mode's few thousand files: sorting them all per page is cheap.
        found: list[StoredObject] = []
        for key in sorted(self._keys()):
            if len(found) == max_keys:
                break
            if key <= start_after:
                continue
            try:
                modified = self.path(key).stat().st_mtime
            except FileNotFoundError:  # removed since the directory was read
                continue
            found.append(StoredObject(key, datetime.fromtimestamp(modified, tz=UTC)))
        return found

    def _keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.relative_to(self.root).as_posix()

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot create {self.root}: {error.strerror}") from error
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"{self.root} is not writable")

    def describe(self) -> str:
        return f"file://{self.root}"
