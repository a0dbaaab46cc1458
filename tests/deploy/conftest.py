"""Fixtures for the deployment validators: tool lookup, planted-mistake copies, and the
one-time downloads (the AWS provider schema from npm, checkov's own venv from PyPI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy import provider_schema
from tests.deploy.checks import REPO_ROOT

VENV_BIN = Path(sys.executable).parent


def find_tool(name: str) -> str:
    """A validator's binary from the project's venv (or PATH). Missing on CI is a failure,
    not a skip (tests/conftest.py): a validator that silently does not run validates nothing."""
    candidate = VENV_BIN / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found:
        return found
    # On CI the skip counts as a failure (tests/conftest.py).
    pytest.skip(f"{name} is not installed (see the dev dependencies of pyproject.toml)")


def run(command: list[str], cwd: Path = REPO_ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a validator; the venv leads PATH so tools find each other (actionlint, shellcheck)."""
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    environment = {**os.environ, "PATH": path, **env}
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def planted(tmp_path: Path) -> Callable[..., Path]:
    """Copy repo paths into a temporary tree; returns the copy's root for a planted mistake."""

    def _copy(*paths: str) -> Path:
        for relative in paths:
            source, target = REPO_ROOT / relative, tmp_path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns(".terraform*"))
            else:
                shutil.copy2(source, target)
        return tmp_path

    return _copy


def replace_in(path: Path, old: str, new: str, count: int = -1) -> None:
    """Plant a mistake (every occurrence unless `count`); fail loudly if the text to change
    is not there, so a planted mistake cannot go stale unnoticed."""
    text = path.read_text()
    assert old in text, f"{old!r} not found in {path}: update the planted mistake"
    path.write_text(text.replace(old, new, count))


@pytest.fixture(scope="session")
def aws_schema() -> provider_schema.ProviderSchema:
    if not shutil.which("npm") and not (provider_schema.REPO_ROOT / "tests/deploy/.npm").exists():
        if os.environ.get("CI"):
            pytest.fail("npm is needed once to fetch @cdktf/provider-aws")
        pytest.skip("npm is needed once to fetch @cdktf/provider-aws")
    return provider_schema.load()


@pytest.fixture(scope="session")
def checkov() -> str:
    """checkov from its own venv (.ci/checkov-venv creates it once per pinned version)."""
    result = subprocess.run(
        ["bash", str(REPO_ROOT / ".ci" / "checkov-venv")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()
