"""A model file checked against rembg's MD5: present, complete, byte-identical to the release.

Nothing is downloaded at run time, so a missing or corrupt file stops the worker at start-up
(`ModelFileError`) instead of failing every task. The check reads the whole file (u2net is
176 MB: 0.3 s from the page cache on the development machine, longer from a cold disk), so a
worker does it once, in its main process before the pool forks; `VerifiedModelFile` is the
record of that check that the forked pool processes inherit and confirm with a stat.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from worker.models.registry import ModelSpec

_CHUNK = 4 * 1024 * 1024


class ModelFileError(RuntimeError):
    """A model file is missing or corrupt at start-up; nothing is downloaded at run time."""


@dataclass(frozen=True)
class VerifiedModelFile:
    """A file whose MD5 matched rembg's, with its size and mtime as they were when hashed."""

    spec: ModelSpec
    path: Path
    size: int
    mtime_ns: int

    def unchanged(self) -> bool:
        """Still the file that was hashed: same size and modification time (a stat, no read)."""
        try:
            stat = self.path.stat()
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == (self.size, self.mtime_ns)


def model_path(spec: ModelSpec, home: Path) -> Path:
    return home / spec.filename


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model(spec: ModelSpec, home: Path) -> VerifiedModelFile:
    """The file hashed and found to be rembg's; ModelFileError names what is wrong otherwise."""
    path = model_path(spec, home)
    if not path.is_file():
        raise ModelFileError(
            f"model {spec.name!r} is missing: {path} does not exist "
            "(provision it with `image-processor models fetch`; nothing is downloaded at run time)"
        )
    # Taken before hashing: a file replaced while it is read no longer matches the record.
    before = path.stat()
    actual = file_md5(path)
    if actual != spec.md5:
        raise ModelFileError(
            f"model {spec.name!r} is corrupt: {path} has MD5 {actual}, expected {spec.md5} "
            "(delete it and run `image-processor models fetch`)"
        )
    return VerifiedModelFile(spec, path, before.st_size, before.st_mtime_ns)
