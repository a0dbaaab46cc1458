"""`image-processor jobs` and `jobs retry` against Postgres and moto_server's SQS, as an operator
runs them: a subprocess, its JSON read back, the job table and the queue looked at afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db import session_scope
from app.failure_reasons import FailureReason
from app.models import BookImage, ImageProcessingJob, JobStatus, utc_now
from app.settings import Settings
from tests.app_stack import Infrastructure
from tests.servers import free_port
from tests.worker.integration import records
from worker.operator_jobs import JobFilter, parse_since
from worker.operator_retry import retry_failed_jobs

CLI = [sys.executable, "-m", "worker.cli"]


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LOG_LEVEL": "WARNING", **env},
        check=False,
    )


def run_json(*args: str, expect: int = 0, **env: str) -> Any:
    done = run_cli(*args, "--json", **env)
    assert done.returncode == expect, done.stderr
    return json.loads(done.stdout)


def add_failed_job(
    reason: FailureReason, *, book_id: int | None = None, age_s: float = 0.0
) -> tuple[int, str]:
    """A book (or `book_id`), an image of it and a job that failed with `reason` `age_s` ago."""
    if book_id is None:
        book_id, image_id = records.add_book_with_image(s3_key_name="photo.jpg")
    else:
        image_id = add_image(book_id)
    return book_id, add_job(image_id, book_id, JobStatus.failed, reason=reason, age_s=age_s)


def add_image(book_id: int) -> int:
    with session_scope() as session:
        image = BookImage(book_id=book_id, s3_key=f"{book_id}/{uuid.uuid4().hex}.jpg")
        image.display_order = 1 + len(records.images(book_id))
        session.add(image)
        session.flush()
        return image.id


def add_job(
    image_id: int,
    book_id: int,
    status: JobStatus,
    *,
    reason: FailureReason | None = None,
    age_s: float = 0.0,
) -> str:
    moment = utc_now() - timedelta(seconds=age_s)
    with session_scope() as session:
        job = ImageProcessingJob(
            book_id=book_id,
            source_image_id=image_id,
            status=status,
            failure_reason=reason.value if reason else None,
            attempt_count=1,
            enqueue_attempts=1,
            created_at=moment,
            queued_at=moment,
            completed_at=moment if status is JobStatus.failed else None,
            updated_at=moment,
        )
        session.add(job)
        session.flush()
        return str(job.id)


def jobs_of_book(book_id: int) -> list[ImageProcessingJob]:
    with session_scope() as session:
        query = select(ImageProcessingJob).where(ImageProcessingJob.book_id == book_id)
        return list(session.scalars(query.order_by(ImageProcessingJob.created_at)))


@pytest.fixture
def stack(app_settings: Callable[..., Settings], infrastructure: Infrastructure) -> Infrastructure:
    app_settings()
    return infrastructure


def test_counts_and_listing_follow_the_filters(stack: Infrastructure) -> None:
    book, first = add_failed_job(FailureReason.storage_unavailable_retries_exhausted)
    _, second = add_failed_job(FailureReason.storage_unavailable_retries_exhausted, book_id=book)
    _, old = add_failed_job(FailureReason.invalid_image, age_s=3 * 86400)
    other_book, image = records.add_book_with_image(s3_key_name="photo.jpg")
    add_job(image, other_book, JobStatus.completed)

    everything = run_json("jobs")
    assert {(c["status"], c["reason"]): c["count"] for c in everything["counts"]} == {
        ("failed", "storage_unavailable_retries_exhausted"): 2,
        ("failed", "invalid_image"): 1,
        ("completed", None): 1,
    }
    assert everything["jobs"][-1]["id"] == old  # the most recently changed first

    recent_failures = run_json("jobs", "--status", "failed", "--since", "1d")
    assert {job["id"] for job in recent_failures["jobs"]} == {first, second}
    by_reason = run_json("jobs", "--reason", "invalid_image")
    assert [job["id"] for job in by_reason["jobs"]] == [old]
    assert by_reason["jobs"][0]["age_seconds"] > 2 * 86400
    assert {job["book_id"] for job in run_json("jobs", "--book", str(book))["jobs"]} == {book}

    table = run_cli("jobs", "--status", "failed")
    assert table.returncode == 0, table.stderr
    assert "storage_unavailable_retries_exhausted" in table.stdout
    assert first in table.stdout


def test_a_failed_batch_is_retried_once_and_a_second_run_retries_nothing(
    stack: Infrastructure,
) -> None:
    reason = FailureReason.storage_unavailable_retries_exhausted
    book, first = add_failed_job(reason, age_s=600)
    failed = [first] + [add_failed_job(reason, book_id=book, age_s=600)[1] for _ in range(3)]
    _, other_reason = add_failed_job(FailureReason.invalid_image, book_id=book)
    _, other_book = add_failed_job(reason)
    # An image re-processed since it failed (it has a newer job): its failure is not retried.
    _, superseded = add_failed_job(reason, book_id=book, age_s=600)
    add_job(records.job(superseded).source_image_id, book, JobStatus.completed)

    dry = run_json("jobs", "retry", "--reason", reason, "--book", str(book), "--dry-run")
    assert sorted(job["id"] for job in dry["jobs"]) == sorted(failed)
    assert stack.receive_all() == []
    assert len(jobs_of_book(book)) == 7

    done = run_json("jobs", "retry", "--reason", reason, "--book", str(book))
    assert (done["selected"], done["queued"], done["not_queued"]) == (4, 4, 0)
    assert sorted(pair["failed_job"] for pair in done["retried"]) == sorted(failed)
    new_jobs = sorted(pair["new_job"] for pair in done["retried"])
    assert records.published_job_ids(stack) == new_jobs
    for job_id in new_jobs:
        row = records.job(job_id)
        assert row.status is JobStatus.pending
        assert row.enqueue_attempts == 1

    again = run_cli("jobs", "retry", "--reason", reason, "--book", str(book))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("queued 0 new jobs for 0 failed jobs selected")
    assert stack.receive_all() == []
    # The other reason and the other book were left alone.
    assert records.job(other_reason).status is JobStatus.failed
    assert records.job(other_book).status is JobStatus.failed


def test_a_retry_is_bounded_by_its_limit_and_goes_in_batches(stack: Infrastructure) -> None:
    reason = FailureReason.worker_lost
    book, _ = add_failed_job(reason, age_s=60)
    for _ in range(4):
        add_failed_job(reason, book_id=book, age_s=60)
    selection = JobFilter(reasons=(reason,), book_id=book)

    first = retry_failed_jobs(selection=selection, limit=3, batch_size=2)
    assert (len(first.selected), len(first.queued)) == (3, 3)
    rest = retry_failed_jobs(selection=selection, limit=3, batch_size=2)
    assert (len(rest.selected), len(rest.queued)) == (2, 2)
    assert len(records.published_job_ids(stack)) == 5
    assert retry_failed_jobs(selection=selection, limit=3, batch_size=2).selected == []


def test_with_sqs_unreachable_the_new_jobs_wait_for_the_sweep(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    app_settings()
    reason = FailureReason.storage_unavailable_retries_exhausted
    book, failed = add_failed_job(reason, age_s=60)
    add_failed_job(reason, book_id=book, age_s=60)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: every SQS call is refused

    done = run_json(
        "jobs", "retry", "--reason", reason, "--book", str(book), expect=1,
        AWS_ENDPOINT_URL=closed, AWS_MAX_ATTEMPTS="1", AWS_CONNECT_TIMEOUT_SECONDS="1",
    )  # fmt: skip
    assert (done["selected"], done["queued"], done["not_queued"]) == (2, 0, 2)
    for pair in done["refused"]:
        row = records.job(pair["new_job"])
        assert row.status is JobStatus.queue_failed
        assert row.failure_reason is FailureReason.publish_failed
    # The failed jobs now have newer ones: the beat sweep publishes those, no retry needed.
    assert run_json("jobs", "retry", "--reason", reason, "--book", str(book))["selected"] == 0
    assert records.job(failed).status is JobStatus.failed


def test_since_takes_a_duration_or_a_time() -> None:
    now = utc_now()
    assert parse_since("90m", now=now) == now - timedelta(minutes=90)
    assert parse_since("2d", now=now) == now - timedelta(days=2)
    assert parse_since("2024-05-01T12:00:00").isoformat() == "2024-05-01T12:00:00+00:00"
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since("yesterday")
    usage = run_cli("jobs", "--since", "yesterday")
    assert usage.returncode == 2
    assert "neither a duration" in usage.stderr


def test_a_retry_asks_for_what_the_failed_job_asked_for(stack: Infrastructure) -> None:
    book, failed = add_failed_job(FailureReason.quality_no_subject, age_s=60)
    with session_scope() as session:
        job = session.get(ImageProcessingJob, uuid.UUID(failed))
        assert job is not None
        job.requested_model_chain, job.requested_backdrop = ["u2net"], "white"

    done = run_json("jobs", "retry", "--reason", "quality_no_subject", "--book", str(book))
    [pair] = done["retried"]
    new_job = records.job(pair["new_job"])
    assert (new_job.requested_model_chain, new_job.requested_backdrop) == (["u2net"], "white")
