"""Real servers for the integration tests: processes started here are stopped here, by PID."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from devtools.embedded_stack.processes import (
    free_port,
    port_open,
    stop_process_group,
    wait_for_port,
)

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
VENV_BIN = Path(sys.executable).parent


# The embedded stack's process helpers serve the tests too (free_port is re-exported).
stop_process = stop_process_group
__all__ = [
    "celery_worker_command",
    "free_port",
    "moto_server",
    "port_open",
    "postgres_database",
    "start_process",
    "stop_process",
    "wait_for_port",
    "wait_until",
]

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float,
    what: str,
    processes: tuple[subprocess.Popen, ...] = (),
    interval: float = 0.2,
) -> T:
    """Poll `predicate` until it returns something truthy; fail naming `what` otherwise, or as
    soon as one of `processes` (what should produce it) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        for process in processes:
            if process.poll() is not None:
                pytest.fail(
                    f"process {process.pid} exited ({process.returncode}) while waiting for {what}"
                )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def celery_worker_command(
    name: str, *, concurrency: int | None, include: str | None = None, heartbeat: bool = True
) -> list[str]:
    """`celery worker` as the image's entrypoint runs it (prefork; the pool size from
    WORKER_CONCURRENCY unless `concurrency` is given), named, optionally with extra tasks."""
    command = [str(VENV_BIN / "celery"), "-A", "worker.celery_app", "worker", "--pool", "prefork"]
    command += ["-n", name, "--loglevel", "INFO"]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    if include is not None:
        command += ["-I", include]
    if not heartbeat:
        command.append("--without-heartbeat")
    return command


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
