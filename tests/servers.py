"""Real servers for the integration tests: processes started here are stopped here, by PID."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from worker.embedded.processes import free_port, port_open, stop_process_group

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
VENV_BIN = Path(sys.executable).parent


# The embedded stack's process helpers serve the tests too (free_port is re-exported).
stop_process = stop_process_group
__all__ = ["free_port", "moto_server", "postgres_database", "start_process", "stop_process"]


def wait_for_port(
    port: int, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.pid} exited with {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def start_process(
    args: list[str], *, env: dict[str, str] | None = None, log_path: Path | None = None
) -> subprocess.Popen:
    """Start a server in its own process group so the whole tree can be stopped by PID."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextmanager
def moto_server(log_path: Path | None = None) -> Iterator[str]:
    """A moto_server on a free loopback port; yields its endpoint URL."""
    port = free_port()
    process = start_process(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        log_path=log_path,
    )
    try:
        wait_for_port(port, process=process)
        url = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(f"{url}/moto-api/", timeout=5).close()  # noqa: S310 - loopback
        yield url
    finally:
        stop_process(process)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty Postgres database on the local server; dropped afterwards."""
    name = f"image_processor_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
