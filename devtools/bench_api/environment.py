"""The servers a load run needs, started here and stopped here by PID."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
import psycopg
from sqlalchemy import create_engine

from app.migrate import upgrade
from app.settings import Settings
from devtools.embedded_stack.processes import free_port, stop_process_group, wait_for_port
from devtools.local_aws import create_local_infrastructure

VENV_BIN = Path(sys.executable).parent
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "loadtest",
    "AWS_SECRET_ACCESS_KEY": "loadtest",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Environment:
    api_url: str
    api_key: str
    database_url: str
    aws_endpoint: str
    bucket: str
    queue_url: str
    # Process ids of the API and moto_server, for their CPU time.
    api_pid: int
    moto_pid: int

    def pids(self) -> dict[str, int]:
        return {"api": self.api_pid, "moto_server": self.moto_pid}

    def sqs(self) -> Any:
        return boto3.client("sqs", endpoint_url=self.aws_endpoint, region_name="us-east-1")


def _stat(pid: int) -> list[str]:
    # The command name may hold spaces: the fields start after its closing parenthesis.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants (uvicorn's workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError):
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
    family, total = {pid}, 0.0
    for candidate in sorted(parents):  # children after parents, barring PID wrap-around
        if parents[candidate] in family:
            family.add(candidate)
    for member in family:
        with suppress(OSError):
            fields = _stat(member)
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextmanager
def server_process(
    args: list[str], *, env: dict[str, str], log: IO[bytes]
) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own process group, stopped (SIGTERM, then SIGKILL) by its PID."""
    process = subprocess.Popen(
        args,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(int(args[args.index("--port") + 1]), process=process)
        yield process
    finally:
        stop_process_group(process)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"image_processor_loadtest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    try:
        engine = create_engine(url)
        with engine.begin() as connection:
            upgrade(connection=connection)
        engine.dispose()
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_infrastructure(endpoint: str, *, queue_name: str, bucket: str) -> str:
    """What terraform makes, by the one local creator. Returns the queue URL."""
    settings = Settings(
        aws_endpoint_url=endpoint, image_processing_queue_name=queue_name, images_bucket=bucket
    )
    return create_local_infrastructure(settings)["queue_url"]


@contextmanager
def load_environment(*, admin_url: str, workdir: Path, api_workers: int) -> Iterator[Environment]:
    os.environ.update(AWS_ENV)
    moto_port, api_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    queue_name, bucket, api_key = "image-processing", "images", uuid.uuid4().hex
    with (
        open(workdir / "moto.log", "wb") as moto_log,
        open(workdir / "api.log", "wb") as api_log,
        server_process(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "--port", str(moto_port)],
            env={},
            log=moto_log,
        ) as moto,
        postgres_database(admin_url) as database_url,
    ):
        queue_url = create_infrastructure(endpoint, queue_name=queue_name, bucket=bucket)
        api_env = {
            **AWS_ENV,
            "ENVIRONMENT": "staging",
            "API_KEY": api_key,
            "DATABASE_URL": database_url,
            "AWS_ENDPOINT_URL": endpoint,
            "IMAGES_BUCKET": bucket,
            "IMAGE_PROCESSING_QUEUE_NAME": queue_name,
            "STORAGE_BACKEND": "s3",
            "BROKER_URL": "sqs://",
        }
        uvicorn = [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
            "--workers",
            str(api_workers),
            "--no-access-log",
        ]
        with server_process(uvicorn, env=api_env, log=api_log) as api:
            yield Environment(
                api_url=f"http://127.0.0.1:{api_port}",
                api_key=api_key,
                database_url=database_url,
                aws_endpoint=endpoint,
                bucket=bucket,
                queue_url=queue_url,
                api_pid=api.pid,
                moto_pid=moto.pid,
            )
