"""A real `celery worker` for the integration tests: started here, stopped here, by PID."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from app.settings import Settings
from tests import servers
from tests.conftest import AWS_TEST_ENV
from tests.servers import wait_until

T = TypeVar("T")

# A 640x480 photo takes ~1 s through u2net on one core; the machine is shared, so
# every wait is bounded generously and polled, never slept out.
READY_TIMEOUT_S = 120.0


def worker_env(settings: Settings, *, heartbeat_file: Path, **overrides: str) -> dict[str, str]:
    """The worker's environment: the test's settings, as the container would receive them."""
    env = {
        **AWS_TEST_ENV,
        "ENVIRONMENT": settings.environment,
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "AWS_ENDPOINT_URL": str(settings.aws_endpoint_url),
        "BROKER_URL": settings.broker_url,
        "IMAGES_BUCKET": settings.images_bucket,
        "IMAGE_PROCESSING_QUEUE_NAME": settings.image_processing_queue_name,
        "STORAGE_BACKEND": settings.storage_backend,
        "MODEL_CHAIN": ",".join(settings.model_chain),
        "U2NET_HOME": str(settings.u2net_home),
        "TASK_SOFT_TIME_LIMIT": str(settings.task_soft_time_limit),
        "TASK_TIME_LIMIT": str(settings.task_time_limit),
        "SQS_VISIBILITY_TIMEOUT": str(settings.sqs_visibility_timeout),
        "MAX_PROCESSING_ATTEMPTS": str(settings.max_processing_attempts),
        "RETRY_BACKOFF_FIRST_SECONDS": str(settings.retry_backoff_first_seconds),
        "RETRY_BACKOFF_MAX_SECONDS": str(settings.retry_backoff_max_seconds),
        "RETRY_BUDGET_SECONDS": str(settings.retry_budget_seconds),
        "STALE_PENDING_AFTER_SECONDS": str(settings.stale_pending_after_seconds),
        "WORKER_HEARTBEAT_FILE": str(heartbeat_file),
        # No Flower bus: the worker runs as it does without monitoring.
        "EVENTS_BROKER_URL": "",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


@dataclass
class RunningWorker:
    """One `celery worker` process tree; `pid` is the main process, the pool are its children."""

    process: subprocess.Popen[bytes]
    name: str
    log_path: Path
    heartbeat_file: Path
    env: dict[str, str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines (LOG_FORMAT=json); anything else (tracebacks to stdout) skipped."""
        records = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def is_ready(self) -> bool:
        return any(
            record.get("message", "").endswith(" ready.") and self.name in record["message"]
            for record in self.records()
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> RunningWorker:
        try:
            wait_until(
                self.is_ready,
                timeout=timeout,
                what=f"worker {self.name} to be ready",
                processes=(self.process,),
            )
        except pytest.fail.Exception:
            print(self.output()[-6000:])
            raise
        return self

    def children(self) -> list[int]:
        """PIDs of the prefork pool's processes."""
        return [child.pid for child in psutil.Process(self.pid).children()]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 60.0) -> int | None:
        """Cold shutdown (SIGQUIT) of the process group: a warm one waits out SQS's long poll,
        and a test that needed a warm shutdown has sent SIGTERM itself. Then SIGTERM, SIGKILL."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGQUIT)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        servers.stop_process(self.process, timeout=timeout)
        return self.process.returncode


def start_worker(
    settings: Settings, *, logs: Path, concurrency: int | None = 2, **env_overrides: str
) -> RunningWorker:
    """`celery worker` as the container runs it (prefork), in its own process group."""
    tag = uuid.uuid4().hex[:8]
    name = f"test-{tag}@{socket.gethostname()}"
    log_path = logs / f"worker-{tag}.log"
    heartbeat = logs / f"worker-{tag}.alive"
    env = worker_env(settings, heartbeat_file=heartbeat, **env_overrides)
    process = servers.start_process(
        servers.celery_worker_command(name, concurrency=concurrency, heartbeat=False),
        env=env,
        log_path=log_path,
    )
    return RunningWorker(process, name, log_path, heartbeat, env)
