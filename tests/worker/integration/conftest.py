"""Fixtures for the worker's integration tests: Postgres, moto_server over HTTP, real workers.

The database, bucket, queues and the in-process API come from tests/app_stack.py, the plugin
every test package shares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from tests.app_stack import Infrastructure
from tests.worker.integration.workers import RunningWorker, start_worker
from worker.models.onnx_model import OnnxMaskModel
from worker.models.runtime import build_chain, threads_per_process


@pytest.fixture
def worker_settings(
    app_settings: Callable[..., Settings],
    model_home: Path,
) -> Settings:
    """The settings every process of a test shares (test, API in-process, worker subprocess)."""
    return app_settings(model_chain="u2netp,u2net", u2net_home=str(model_home))


@pytest.fixture
def short_limits_settings(
    app_settings: Callable[..., Settings],
    model_home: Path,
    infrastructure: Infrastructure,
) -> Callable[..., Settings]:
    """Settings with shortened soft/hard limits and visibility timeout, the queue set to match.

    The queue's own VisibilityTimeout is what SQS applies (and what the worker checks).
    """

    def _make(*, soft: int, hard: int, visibility: int) -> Settings:
        settings = app_settings(
            model_chain="u2netp,u2net",
            u2net_home=str(model_home),
            task_soft_time_limit=soft,
            task_time_limit=hard,
            sqs_visibility_timeout=visibility,
            # A retry waits at most what the shorter visibility timeout leaves after a run.
            retry_backoff_max_seconds=visibility - hard,
        )
        infrastructure.sqs().set_queue_attributes(
            QueueUrl=infrastructure.queue_url, Attributes={"VisibilityTimeout": str(visibility)}
        )
        return settings

    return _make


@pytest.fixture
def start_workers(tmp_path: Path) -> Iterator[Callable[..., RunningWorker]]:
    """Start `celery worker` processes; every one is stopped by PID at teardown, pass or fail."""
    started: list[RunningWorker] = []

    def _start(
        settings: Settings, *, ready: bool = True, concurrency: int = 2, **env: str
    ) -> RunningWorker:
        worker = start_worker(settings, logs=tmp_path, concurrency=concurrency, **env)
        started.append(worker)
        return worker.wait_ready() if ready else worker

    yield _start
    for worker in started:
        worker.stop()
    for worker in started:
        # Shown by pytest only when the test failed.
        print(f"--- {worker.name} (pid {worker.pid}) ---\n{worker.output()[-8000:]}")


@pytest.fixture(scope="session")
def reference_models(model_home: Path) -> list[OnnxMaskModel]:
    """The chain as a pool process of a concurrency-2 worker loads it (one thread on 2 cores)."""
    return build_chain(
        ["u2netp", "u2net"], home=model_home, threads=threads_per_process(Settings(), 2)
    )
