"""Worker start-up: it refuses to run without its models."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests.worker.integration.workers import start_worker, wait_until

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_worker_refuses_to_start_without_its_model_files(
    worker_settings: Settings, tmp_path: Path
) -> None:
    empty_home = tmp_path / "no-models"
    empty_home.mkdir()
    worker = start_worker(worker_settings, logs=tmp_path, U2NET_HOME=str(empty_home))
    try:
        wait_until(lambda: not worker.alive(), timeout=30, what="the worker to exit")
    finally:
        worker.stop()
    output = worker.output()
    assert worker.process.returncode != 0, output
    assert "worker cannot start" in output
    assert "u2net" in output
    assert str(empty_home) in output
    assert not worker.is_ready()


def test_worker_refuses_a_queue_that_would_hand_out_running_tasks(
    worker_settings: Settings, infrastructure, tmp_path: Path
) -> None:
    # The queue's own timeout is what SQS applies; 60 s is below the 300 s hard time limit.
    infrastructure.sqs().set_queue_attributes(
        QueueUrl=infrastructure.queue_url, Attributes={"VisibilityTimeout": "60"}
    )
    worker = start_worker(worker_settings, logs=tmp_path)
    try:
        wait_until(lambda: not worker.alive(), timeout=60, what="the worker to exit")
    finally:
        worker.stop()
    output = worker.output()
    assert worker.process.returncode != 0, output
    assert "VisibilityTimeout 60 s, not above TASK_TIME_LIMIT 300 s" in output
    assert not worker.is_ready()
