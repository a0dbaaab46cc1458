"""Fixtures shared by every test package: real servers, settings, output folders.

Area-specific fixtures live in tests/<area>/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Settings, get_settings
from devtools.ecs_local import AWS_CREDENTIALS
from tests import servers

# On CI a skip is a failure (tests/ci_skips.py); the app against real servers, for every
# package (tests/app_stack.py).
pytest_plugins = ["tests.ci_skips", "tests.app_stack"]

REPO_ROOT = Path(__file__).resolve().parent.parent

# Dummy credentials for moto_server: boto3 signs requests, moto ignores the keys.
AWS_TEST_ENV = {**AWS_CREDENTIALS, "AWS_SESSION_TOKEN": "testing"}


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_credentials() -> None:
    """No test can ever reach a real AWS account with real credentials."""
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(key, None)
    os.environ.update(AWS_TEST_ENV)


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Each test sees the environment as it set it, not a cached Settings from another test."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Artifacts a human may want to look at after a run (screenshots, failing image pairs)."""
    path = REPO_ROOT / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One moto_server for the session, reached over HTTP like real AWS."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with servers.moto_server(log) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty Postgres database for the session (not migrated)."""
    with servers.postgres_database() as url:
        yield url


@pytest.fixture
def make_settings(monkeypatch: pytest.MonkeyPatch):
    """Set environment variables for one test and return the Settings they produce."""

    def _make(**env: object) -> Settings:
        for key, value in env.items():
            monkeypatch.setenv(key.upper(), str(value))
        get_settings.cache_clear()
        return get_settings()

    return _make
