"""Worker start-up: it refuses to run without its models or with a queue that does not fit its
time limits, and runs the pool its settings ask for."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests.servers import wait_until
from tests.worker.integration.workers import start_worker

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


@pytest.mark.parametrize(
    ("visibility", "why"),
    [
        # Below the 100 s hard limit: a running task's message would go to a second worker.
        (60, "must be 2-4x TASK_TIME_LIMIT (200-400 s)"),
        # The old 900 s: a dead worker's message would hide for 15 minutes.
        (900, "must be 2-4x TASK_TIME_LIMIT (200-400 s)"),
    ],
)
def test_worker_refuses_a_queue_whose_visibility_timeout_does_not_fit_its_time_limits(
    worker_settings: Settings, infrastructure, tmp_path: Path, visibility: int, why: str
) -> None:
    # The queue's own timeout is what SQS applies, whatever SQS_VISIBILITY_TIMEOUT says.
    infrastructure.sqs().set_queue_attributes(
        QueueUrl=infrastructure.queue_url, Attributes={"VisibilityTimeout": str(visibility)}
    )
    worker = start_worker(worker_settings, logs=tmp_path)
    try:
        wait_until(lambda: not worker.alive(), timeout=60, what="the worker to exit")
    finally:
        worker.stop()
    output = worker.output()
    assert worker.process.returncode != 0, output
    assert f"has VisibilityTimeout {visibility} s" in output
    assert why in output
    assert not worker.is_ready()


def test_worker_runs_the_pool_and_threads_its_settings_name(
    worker_settings: Settings, tmp_path: Path
) -> None:
    # No --concurrency flag, as the image's entrypoint runs it: the settings decide.
    worker = start_worker(
        worker_settings,
        logs=tmp_path,
        concurrency=None,
        WORKER_CONCURRENCY="1",
        ORT_INTRA_OP_THREADS="3",
    )
    chain = len(worker_settings.model_chain)
    try:
        wait_until(
            lambda: worker.is_ready() and worker.output().count("loaded models") >= 1,
            timeout=120,
            what="the worker to load its models",
        )
        output = worker.output()
    finally:
        worker.stop()
    assert "worker pool: 1 process(es), 3 onnxruntime thread(s) each" in output
    assert output.count("(intra-op threads: 3)") == chain, output
    assert output.count("loaded models") == 1, output  # one pool process, not two
