"""A worker that dies or is stopped mid-task loses nothing and duplicates nothing."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable

import psutil
import pytest
from PIL import Image

from app.models import JobStatus
from app.settings import Settings
from tests.app_stack import Infrastructure
from tests.corpus import book_photo
from tests.servers import wait_until
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker

pytestmark = [pytest.mark.model, pytest.mark.slow]

POSTGRES_PORT = 5432


def _jpeg(size: tuple[int, int] = (2560, 1920)) -> bytes:
    """The corpus photo scaled up: the same scene, a task long enough to be caught mid-way."""
    buffer = io.BytesIO()
    book_photo().resize(size, Image.Resampling.BILINEAR).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _children_talking_to_postgres(worker: RunningWorker) -> list[int]:
    """Pool processes with a database connection: only one that ran a task has opened one."""
    return [
        pid
        for pid in worker.children()
        if any(
            connection.raddr and connection.raddr.port == POSTGRES_PORT
            for connection in psutil.Process(pid).net_connections(kind="tcp")
        )
    ]


def _exactly_one_result(infrastructure: Infrastructure, row: records.JobRow) -> None:
    results = [image for image in records.images(row.book_id) if image.source_image_id]
    assert [(image.id, image.s3_key) for image in results] == [
        (row.result_image_id, f"{row.book_id}_processed_{row.id}.png")
    ]
    assert records.object_keys(infrastructure, f"books/{row.book_id}_processed_") == [
        f"books/{row.book_id}_processed_{row.id}.png"
    ]


def test_a_pool_process_killed_mid_task_is_redelivered_and_completes_once(
    short_limits_settings: Callable[..., Settings],
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    # Shortened so the test sees redelivery and the dead claim going stale.
    settings = short_limits_settings(soft=15, hard=20, visibility=45)
    worker = start_workers(settings)
    job_id = records.enqueue_direct(infrastructure, _jpeg())

    records.wait_for_status(job_id, JobStatus.processing, worker=worker, timeout=60)
    [busy] = _children_talking_to_postgres(worker)
    os.kill(busy, signal.SIGKILL)

    row = records.wait_for_jobs([job_id], worker=worker, timeout=settings.task_time_limit + 90)[
        job_id
    ]
    assert row.status is JobStatus.completed
    assert row.attempt_count == 2  # the killed claim, then the one that finished
    _exactly_one_result(infrastructure, row)
    assert worker.alive()
    assert busy not in worker.children()
    assert "WorkerLostError" in worker.output()
    wait_until(
        lambda: records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0},
        timeout=30,
        what="every message to be acknowledged",
    )


def test_sigterm_mid_task_finishes_the_running_tasks_and_loses_none(
    worker_settings: Settings,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    worker = start_workers(worker_settings)
    job_ids = [
        records.enqueue_direct(infrastructure, _jpeg(size))
        for size in ((1600, 1200), (1520, 1140), (1440, 1080))
    ]

    def _two_running() -> list[str]:
        running = [
            job_id for job_id in job_ids if records.job(job_id).status is JobStatus.processing
        ]
        return running if len(running) == 2 else []

    running = wait_until(
        _two_running,
        timeout=90,
        what="two jobs processing",
        processes=(worker.process,),
        interval=0.1,
    )
    os.kill(worker.pid, signal.SIGTERM)  # what ECS sends

    # Warm shutdown: the tasks in flight finish before the process exits.
    wait_until(lambda: not worker.alive(), timeout=120, what="the worker to exit")
    assert worker.process.returncode == 0, worker.output()[-3000:]
    for job_id in running:
        assert records.job(job_id).status is JobStatus.completed
    # The job that had not started is still queued, not lost: a new worker finishes it.
    successor = start_workers(worker_settings)
    rows = records.wait_for_jobs(job_ids, worker=successor, timeout=120)
    for row in rows.values():
        assert row.status is JobStatus.completed
        assert row.attempt_count == 1
        _exactly_one_result(infrastructure, row)
    wait_until(
        lambda: records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0},
        timeout=30,
        what="every message to be acknowledged",
    )


def test_a_job_that_kills_its_worker_every_time_fails_as_worker_lost(
    short_limits_settings: Callable[..., Settings],
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    """Poison of this kind is judged by the job's claims, not by SQS's receive count: a killed
    task's message is back in 10 s (kombu's requeue), finds the dead claim not yet stale (the
    hard limit, longer), and looks again later as a new message, so no message's receive count
    reaches the DLQ's maxReceiveCount. After MAX_PROCESSING_ATTEMPTS claims the job fails as
    worker_lost, its message is acknowledged, and the DLQ stays empty."""
    settings = short_limits_settings(soft=12, hard=15, visibility=45)
    worker = start_workers(settings)
    job_id = records.enqueue_direct(infrastructure, _jpeg())

    for attempt in range(1, settings.max_processing_attempts + 1):
        wait_until(
            lambda attempt=attempt: (
                (row := records.job(job_id)).status is JobStatus.processing
                and row.attempt_count == attempt
            ),
            timeout=120,
            what=f"claim {attempt} of the job",
            processes=(worker.process,),
            interval=0.1,
        )
        for child in worker.children():  # the one running the job among them
            os.kill(child, signal.SIGKILL)

    row = records.wait_for_jobs([job_id], worker=worker, timeout=120)[job_id]
    assert (row.status, row.failure_reason, row.attempt_count) == (
        JobStatus.failed,
        "worker_lost",
        settings.max_processing_attempts,
    )
    assert worker.alive()
    wait_until(
        lambda: records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0},
        timeout=60,
        what="the message to be acknowledged",
    )
    assert records.queue_counts(infrastructure, infrastructure.dlq_url)["visible"] == 0
