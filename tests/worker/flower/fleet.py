"""A real monitored fleet for the tests: SQS queues on moto, a worker and Flower, by PID."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from celery import Celery

from app import aws
from app.settings import Settings, get_settings
from devtools.local_aws import create_local_infrastructure
from tests import servers
from tests.conftest import REPO_ROOT
from tests.servers import wait_until
from worker.celery_app import create_app

T = TypeVar("T")
FLOWER_USER, FLOWER_PASSWORD = "operator", "test-only-flower-secret"
TEST_TASKS_MODULE = "tests.worker.flower.monitoring_tasks"


@dataclass
class Fleet:
    env: dict[str, str]
    app: Celery  # a client: publishes on SQS, inspects and controls over the bus
    worker_name: str
    flower_url: str
    worker: subprocess.Popen
    flower: subprocess.Popen
    worker_log: Path
    flower_log: Path

    credentials = (FLOWER_USER, FLOWER_PASSWORD)

    def flower_get(self, path: str, *, auth: bool = True) -> httpx.Response:
        return httpx.get(
            f"{self.flower_url}{path}", auth=self.credentials if auth else None, timeout=10
        )

    def flower_tasks(self) -> dict[str, dict[str, Any]]:
        response = self.flower_get("/api/tasks")
        response.raise_for_status()
        return dict(response.json())

    def flower_worker_online(self) -> bool:
        """Flower's REST API: alive by the worker's own events (online, heartbeats)."""
        response = self.flower_get("/api/workers?status=true")
        return response.status_code == 200 and response.json().get(self.worker_name) is True

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`celery -A worker.celery_app ...` as an operator runs it, in its own process."""
        return subprocess.run(
            [str(servers.VENV_BIN / "celery"), "-A", "worker.celery_app", *args],
            env={**os.environ, **self.env},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def inspect_json(self, command: str) -> dict[str, Any]:
        done = self.cli("inspect", command, "-d", self.worker_name, "-j", "--timeout", "3")
        assert done.returncode == 0, done.stdout + done.stderr
        return dict(json.loads(done.stdout))


def create_queues(endpoint: str, name: str) -> None:
    """The queue and its DLQ (and a bucket), as terraform creates them, by the one local
    creator (the app never creates queues)."""
    create_local_infrastructure(
        Settings(
            aws_endpoint_url=endpoint,
            aws_region="us-east-1",
            image_processing_queue_name=name,
            images_bucket=f"{name}-images",
        )
    )


def client_app() -> Celery:
    """The fleet's app built from the current environment, its config and control fixed now."""
    get_settings.cache_clear()
    aws.reset_clients()
    app = create_app()
    _ = app.conf.broker_transport_options  # resolves the queue URL with this environment
    _ = app.control
    return app


@contextmanager
def running_fleet(
    *, moto_endpoint: str, bus_url: str, logs: Path, concurrency: int = 1
) -> Iterator[Fleet]:
    tag = uuid.uuid4().hex[:8]
    queue_name = f"monitoring-{tag}"
    create_queues(moto_endpoint, queue_name)
    flower_port = servers.free_port()
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "IMAGE_PROCESSING_QUEUE_NAME": queue_name,
        "EVENTS_BROKER_URL": bus_url,
        "FLOWER_BASIC_AUTH": f"{FLOWER_USER}:{FLOWER_PASSWORD}",
        "FLOWER_ADDRESS": "127.0.0.1",
        "FLOWER_PORT": str(flower_port),
        "FLOWER_QUEUE_DEPTH_INTERVAL_SECONDS": "1",
        "MODEL_CHAIN": "u2netp",
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "INFO",
    }
    worker_name = f"monitoring-{tag}@{socket.gethostname()}"
    worker_log, flower_log = logs / f"worker-{tag}.log", logs / f"flower-{tag}.log"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        app = client_app()
        worker = servers.start_process(
            servers.celery_worker_command(
                worker_name, concurrency=concurrency, include=TEST_TASKS_MODULE
            ),
            log_path=worker_log,
        )
        flower = servers.start_process(
            [str(servers.VENV_BIN / "python"), "-m", "worker.flower"], log_path=flower_log
        )
        fleet = Fleet(
            env,
            app,
            worker_name,
            f"http://127.0.0.1:{flower_port}",
            worker,
            flower,
            worker_log,
            flower_log,
        )
        try:
            servers.wait_for_port(flower_port, process=flower)
            wait_until(
                fleet.flower_worker_online,
                timeout=90,
                what="Flower to see the worker",
                processes=(worker, flower),
            )
            yield fleet
        finally:
            servers.stop_process(worker, timeout=30)
            servers.stop_process(flower)
            app.close()
