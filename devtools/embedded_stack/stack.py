"""The stack's processes on loopback: moto_server (SQS + S3), the database (SQLite, or the
Postgres of DATABASE_URL) migrated, a Celery worker, beat, the API, and Flower on the events
bus: the Redis that answers on 127.0.0.1:6379, or else an embedded valkey-server
(events_bus.py). None of them imports rembg."""

from __future__ import annotations

import argparse
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx

from app.settings import Settings, get_settings
from devtools.embedded_stack.events_bus import REDIS_PORT, events_bus_url, start_events_bus
from devtools.embedded_stack.processes import BIN, Supervisor, free_port
from devtools.local_aws import create_local_infrastructure


@dataclass(frozen=True)
class RunningStack:
    """Where the started stack answers; `env` is the settings every process of it shares."""

    env: dict[str, str]
    embedded_bus: bool = False  # the stack started the events bus (no Redis answered)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    @property
    def flower_url(self) -> str:
        return f"http://127.0.0.1:{self.env['FLOWER_PORT']}/"

    @property
    def flower_credentials(self) -> tuple[str, str]:
        user, _, password = self.env["FLOWER_BASIC_AUTH"].partition(":")
        return user, password

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=30)

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )


def stack_env(settings: Settings, run_dir: Path, *, redis_port: int = REDIS_PORT) -> dict[str, str]:
    """The settings every process of the stack shares, as environment variables. The events
    bus is the Redis on 127.0.0.1:`redis_port` when one answers, else a free port's, where
    `start_stack` starts the embedded server."""
    run_dir.mkdir(parents=True, exist_ok=True)
    database_url = settings.database_url.get_secret_value()
    if database_url.startswith("sqlite"):  # the default: a fresh embedded database per run
        database = run_dir / "image-processor.db"
        database.unlink(missing_ok=True)
        database_url = f"sqlite:///{database}"
    env = {
        "ENVIRONMENT": "local",
        "LOG_FORMAT": "text",
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_REGION": settings.aws_region,
        "IMAGES_BUCKET": "image-processor-demo",
        "IMAGE_PROCESSING_QUEUE_NAME": "image-processing-demo",
        "STORAGE_BACKEND": "s3",
        "MODEL_CHAIN": ",".join(settings.model_chain),
        "U2NET_HOME": str(settings.u2net_home),
        "WORKER_HEARTBEAT_FILE": str(run_dir / "worker.alive"),
        "API_PORT": str(free_port()),
        "EVENTS_BROKER_URL": events_bus_url(redis_port),
        # A password of this run only: Flower's every route demands it, even on loopback.
        "FLOWER_BASIC_AUTH": f"demo:{secrets.token_urlsafe(12)}",
        "FLOWER_ADDRESS": "127.0.0.1",
        "FLOWER_PORT": str(free_port()),
    }
    return env


def add_redis_port_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis-port",
        type=int,
        default=REDIS_PORT,
        help="use the Redis answering on this loopback port as the events bus; when none "
        "answers, start the embedded valkey-server on a free port (default %(default)s)",
    )


def start_stack(supervisor: Supervisor, env: dict[str, str], run_dir: Path) -> RunningStack:
    """Every process started and answering (the worker ready, its models loaded)."""
    # A stack without the events bus (bench-e2e measures the worker alone) starts none.
    bus_url = env.get("EVENTS_BROKER_URL")
    embedded_bus = bus_url is not None and start_events_bus(
        supervisor, bus_url, run_dir / "events-bus"
    )
    moto_port = int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    supervisor.start("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)])
    supervisor.wait_for_port("moto", moto_port)
    # boto3 in this process signs its calls to the emulator with the stack's dummy keys.
    os.environ.update({key: env[key] for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    create_local_infrastructure(
        get_settings().model_copy(
            update={
                "aws_endpoint_url": env["AWS_ENDPOINT_URL"],
                "images_bucket": env["IMAGES_BUCKET"],
                "image_processing_queue_name": env["IMAGE_PROCESSING_QUEUE_NAME"],
            }
        )
    )
    supervisor.run_once("migrate", [str(BIN / "python"), "-m", "app.migrate"])
    celery = [str(BIN / "celery"), "-A", "worker.celery_app"]
    supervisor.start("worker", [*celery, "worker", "--loglevel", "INFO"])
    beat_file = str(run_dir / "celerybeat-schedule")
    supervisor.start("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", beat_file])
    api_port = int(env["API_PORT"])
    supervisor.start(
        "api",
        [str(BIN / "uvicorn"), "app.main:app", "--host", "127.0.0.1", "--port", str(api_port)],
    )
    if bus_url is not None:  # Flower shows what the events bus carries: none, no Flower
        supervisor.start("flower", [str(BIN / "python"), "-m", "worker.flower"])
    supervisor.wait_for_port("api", api_port)
    supervisor.wait_for_log("worker", "ready.")
    if bus_url is not None:
        supervisor.wait_for_port("flower", int(env["FLOWER_PORT"]))
    return RunningStack(env, embedded_bus)


def ok(response: httpx.Response) -> dict:
    """The response's JSON; RuntimeError naming the request when the API answered an error."""
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()
