"""Model files are hashed once per worker start: the pool processes trust the main process."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from app.settings import Settings
from worker.models import files, runtime
from worker.models.files import ModelFileError
from worker.models.registry import get_spec

SPEC = get_spec("u2netp")  # the small one: 4.6 MB to copy and hash


@pytest.fixture
def home(tmp_path: Path, model_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A U2NET_HOME of this test's own, and a process that has checked nothing yet."""
    shutil.copyfile(model_home / SPEC.filename, tmp_path / SPEC.filename)
    monkeypatch.setattr(runtime, "_verified", {})
    return tmp_path


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file hashed from now on, in this process and in the ones it forks."""
    hashed: list[Path] = []
    real_md5 = files.file_md5

    def counting_md5(path: Path) -> str:
        hashed.append(path)
        return real_md5(path)

    monkeypatch.setattr(files, "file_md5", counting_md5)
    return hashed


def _load_in_pool_process(home: Path) -> None:
    """A forked pool process: any hashing here would fail it."""

    def refuse(path: Path) -> str:
        raise AssertionError(f"a pool process hashed {path}")

    files.file_md5 = refuse
    assert runtime.checked_path(SPEC, home) == home / SPEC.filename


def test_the_main_process_hashes_once_and_forked_pool_processes_only_stat(
    home: Path, hashes: list[Path]
) -> None:
    settings = Settings(model_chain=[SPEC.name], u2net_home=home)
    runtime.verify_model_chain(settings)  # what worker_init does before the pool forks
    assert hashes == [home / SPEC.filename]
    fork = multiprocessing.get_context("fork")  # Celery's prefork pool forks the same way
    pool = [fork.Process(target=_load_in_pool_process, args=(home,)) for _ in range(2)]
    for process in pool:
        process.start()
    for process in pool:
        process.join(timeout=60)
    assert [process.exitcode for process in pool] == [0, 0]
    assert hashes == [home / SPEC.filename]


def test_a_process_without_a_check_hashes_the_file_itself_once(
    home: Path, hashes: list[Path]
) -> None:
    for _ in range(3):
        runtime.checked_path(SPEC, home)
    assert hashes == [home / SPEC.filename]


def test_a_file_changed_after_the_check_is_hashed_again_and_refused(
    home: Path, hashes: list[Path]
) -> None:
    runtime.verify_model_chain(Settings(model_chain=[SPEC.name], u2net_home=home))
    path = home / SPEC.filename
    with path.open("r+b") as handle:  # the same size, other bytes, a later mtime
        handle.seek(1000)
        handle.write(b"\0" * 16)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelFileError, match="is corrupt"):
        runtime.checked_path(SPEC, home)
    assert hashes == [path, path]


def test_a_file_removed_after_the_check_is_refused(home: Path) -> None:
    runtime.verify_model_chain(Settings(model_chain=[SPEC.name], u2net_home=home))
    (home / SPEC.filename).unlink()
    with pytest.raises(ModelFileError, match="is missing"):
        runtime.checked_path(SPEC, home)
