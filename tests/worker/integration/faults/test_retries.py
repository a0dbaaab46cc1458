"""A job's retries are its own and budgeted by time: a busy look leaves the next job its whole
budget, and past the budget a job fails with its reason, leaving no result object behind. Every
AWS call of the worker goes through one proxy, whose fault hits S3's GetObject only; the
database fails a job's result transactions through a row lock the test holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

from app.celery_client import send_process_image
from app.db import session_scope
from app.enqueue import queue_image_processing
from app.models import JobStatus
from app.settings import Settings
from tests.app_stack import Infrastructure
from tests.faults.http_requests import operation_is
from tests.faults.proxy import Fault, FaultKind, FaultProxy
from tests.servers import wait_until
from tests.worker.integration import records
from tests.worker.integration.faults.stack import jpeg
from tests.worker.integration.workers import RunningWorker

pytestmark = [pytest.mark.model, pytest.mark.slow]

GET_OBJECT_FAILS = Fault(FaultKind.http_error, status=503, match=operation_is("GetObject"))
QUICK_RETRIES = {"RETRY_BACKOFF_FIRST_SECONDS": "0.5", "RETRY_BACKOFF_MAX_SECONDS": "2"}


@pytest.fixture
def aws_proxy(infrastructure: Infrastructure) -> Iterator[FaultProxy]:
    proxy = FaultProxy(int(infrastructure.endpoint.rsplit(":", 1)[1]), name="aws", http=True)
    yield proxy.start()
    proxy.stop()


def _held_by_another_worker(infrastructure: Infrastructure) -> str:
    """A job whose row says a live worker claimed it just now, and its message on the queue."""
    job_id = records.add_job(status=JobStatus.processing, attempt_count=1)
    row = records.job(job_id)
    records.put_object(infrastructure, f"books/{row.book_id}/photo.jpg", jpeg())
    send_process_image(job_id=row.id, book_id=row.book_id, image_id=row.source_image_id)
    return job_id


def test_a_busy_look_leaves_the_next_job_its_whole_budget(
    short_limits_settings: Callable[..., Settings],
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
    aws_proxy: FaultProxy,
) -> None:
    """Once, retry(max_retries=...) for a busy job left that limit on the task object the pool
    process shares, and the next job to meet an outage there failed after two fetches."""
    settings = short_limits_settings(soft=12, hard=15, visibility=45)
    worker = start_workers(settings, concurrency=1, AWS_ENDPOINT_URL=aws_proxy.url, **QUICK_RETRIES)
    held = _held_by_another_worker(infrastructure)
    wait_until(
        lambda: "Retry in" in worker.output(), timeout=60, what="the busy look", interval=0.5
    )
    aws_proxy.inject(GET_OBJECT_FAILS)
    job = records.enqueue_direct(infrastructure, jpeg())
    wait_until(
        lambda: len(aws_proxy.entries("http_error GetObject")) >= 12,
        timeout=60,
        what="the job to meet the outage a dozen times",
        processes=(worker.process,),
    )
    aws_proxy.heal()

    rows = records.wait_for_jobs([job, held], worker=worker, timeout=90)
    assert rows[job].status is JobStatus.completed, rows[job]
    assert rows[held].status is JobStatus.completed, rows[held]


def test_past_its_budget_a_job_fails_with_its_reason(
    worker_settings: Settings,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
    aws_proxy: FaultProxy,
) -> None:
    worker = start_workers(
        worker_settings,
        AWS_ENDPOINT_URL=aws_proxy.url,
        RETRY_BUDGET_SECONDS="8",
        **QUICK_RETRIES,
    )
    aws_proxy.inject(GET_OBJECT_FAILS)
    job = records.enqueue_direct(infrastructure, jpeg())

    row = records.wait_for_jobs([job], worker=worker, timeout=60)[job]
    assert (row.status, row.failure_reason) == (
        JobStatus.failed,
        "storage_unavailable_retries_exhausted",
    )
    assert len(aws_proxy.entries("http_error GetObject")) >= 4  # it did retry meanwhile
    retried_for = [r for r in records.job_log_records(worker, job) if "retried for" in r["message"]]
    assert retried_for, "the failure names how long the job retried"
    assert worker.alive()


def test_past_its_budget_a_job_whose_result_was_never_recorded_leaves_no_result(
    worker_settings: Settings,
    database_url: str,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    """Every run stores its PNG, then its result transaction fails: the test holds the book's
    row lock, which the transaction needs, so Postgres cancels the worker's statement at its
    timeout, as a lock held by a long migration would. Past the budget the job fails
    `database_unavailable_retries_exhausted`, and the PNG the runs stored is deleted."""
    worker = start_workers(
        worker_settings,
        RETRY_BUDGET_SECONDS="6",
        DATABASE_STATEMENT_TIMEOUT_SECONDS="1",
        **QUICK_RETRIES,
    )
    book_id, image_id = records.add_book_with_image(s3_key_name="photo.jpg")
    records.put_object(infrastructure, f"books/{book_id}/photo.jpg", jpeg())
    engine = create_engine(database_url)
    try:
        with engine.connect() as holder:
            # NO KEY UPDATE: the worker's `FOR UPDATE` of the book waits on it, while inserting
            # a job (a foreign-key check, KEY SHARE) does not.
            holder.execute(
                text("SELECT id FROM books WHERE id = :id FOR NO KEY UPDATE"), {"id": book_id}
            )
            with session_scope() as session:
                job = str(
                    queue_image_processing(session=session, book_id=book_id, image_id=image_id).id
                )
            result = f"books/{book_id}_processed_{job}.png"
            wait_until(
                lambda: (
                    records.object_keys(infrastructure, f"books/{book_id}_processed_") == [result]
                ),
                timeout=60,
                what="a run to store the result PNG",
                processes=(worker.process,),
                interval=0.1,
            )
            row = records.wait_for_jobs([job], worker=worker, timeout=90)[job]
            holder.rollback()
    finally:
        engine.dispose()

    assert (row.status, row.failure_reason) == (
        JobStatus.failed,
        "database_unavailable_retries_exhausted",
    )
    retried = [r for r in records.job_log_records(worker, job) if "will retry" in r["message"]]
    assert retried, "the job did retry meanwhile"
    wait_until(
        lambda: records.object_keys(infrastructure, f"books/{book_id}_processed_") == [],
        timeout=15,
        what="the failed job's result PNG to be deleted",
    )
    assert records.object_keys(infrastructure, "books/") == [f"books/{book_id}/photo.jpg"]
    assert [image.s3_key for image in records.images(book_id)] == [f"{book_id}/photo.jpg"]
    assert worker.alive()
