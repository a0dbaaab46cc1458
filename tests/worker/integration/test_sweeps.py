"""The beat sweep against Postgres and SQS on moto_server, and with a real worker behind it."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.models import JobStatus
from app.settings import Settings
from tests import servers
from tests.app_stack import Infrastructure
from tests.corpus import book_photo
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker
from worker.sweeps import DatabaseWatch, SweepReport, sweep_jobs


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    book_photo().save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.model
@pytest.mark.slow
def test_sweep_republishes_what_never_reached_the_queue_or_lost_its_worker(
    client: TestClient,
    app_settings: Callable[..., Settings],
    model_home: Path,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    chain = {"model_chain": "u2netp,u2net", "u2net_home": str(model_home)}
    app_settings(**chain, broker_url=f"sqs://127.0.0.1:{servers.free_port()}")  # broker down
    book_id = records.create_book(client)
    response = records.upload(client, book_id, _jpeg(), name="a.jpg", primary=True)
    assert response.status_code == 201  # the upload still succeeds
    unpublished = response.json()["job"]
    assert (unpublished["status"], unpublished["enqueue_attempts"]) == ("queue_failed", 1)
    assert records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0}

    settings = app_settings(**chain)  # the broker is back
    # A job whose worker died long ago (claimed before the hard limit + visibility timeout).
    orphan = records.add_job(
        status=JobStatus.processing,
        attempt_count=1,
        age_s=settings.task_time_limit + settings.sqs_visibility_timeout + 60,
    )
    orphan_row = records.job(orphan)
    records.put_object(
        infrastructure,
        f"books/{orphan_row.book_id}/photo.jpg",
        _jpeg(),
    )
    worker = start_workers(settings)

    report = sweep_jobs(settings=settings, queue_is_empty=True).as_dict()
    assert report == {"republished": 1, "recovered": 1, "failed": 0, "publish_errors": 0}

    rows = records.wait_for_jobs([unpublished["id"], orphan], worker=worker)
    republished, recovered = rows[unpublished["id"]], rows[orphan]
    assert (republished.status, republished.enqueue_attempts, republished.attempt_count) == (
        JobStatus.completed,
        2,
        1,
    )
    assert (recovered.status, recovered.enqueue_attempts, recovered.attempt_count) == (
        JobStatus.completed,
        2,
        2,
    )
    for row in (republished, recovered):
        assert row.result_image_id is not None
        assert records.object_keys(infrastructure, f"books/{row.book_id}_processed_") == [
            f"books/{row.book_id}_processed_{row.id}.png"
        ]


def test_sweep_fails_jobs_past_their_budgets(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    """Worker deaths are counted (MAX_PROCESSING_ATTEMPTS); a broker's refusals are timed
    (RETRY_BUDGET_SECONDS from the first refusal), however many sweeps tried meanwhile."""
    settings = app_settings()
    dead_after = settings.task_time_limit + settings.sqs_visibility_timeout
    exhausted_worker = records.add_job(
        status=JobStatus.processing,
        attempt_count=settings.max_processing_attempts,
        age_s=dead_after + 60,
    )
    exhausted_enqueue = records.add_job(
        status=JobStatus.queue_failed,
        enqueue_attempts=2,
        publish_failing_for_s=settings.retry_budget_seconds + 60,
    )
    orphan = records.add_job(status=JobStatus.processing, attempt_count=1, age_s=dead_after + 60)
    # Refused by 50 sweeps in a row, but for less than the budget: published again.
    unpublished = records.add_job(
        status=JobStatus.queue_failed,
        enqueue_attempts=50,
        publish_failing_for_s=settings.retry_budget_seconds - 60,
    )
    # Claimed by a worker that may still be running it: left alone.
    running = records.add_job(status=JobStatus.processing, attempt_count=1, age_s=dead_after - 60)

    report = sweep_jobs(settings=settings, queue_is_empty=False)

    assert sorted(report.failed) == sorted([exhausted_worker, exhausted_enqueue])
    assert (report.republished, report.recovered) == ([unpublished], [orphan])
    assert records.job(exhausted_worker).failure_reason == "worker_lost"
    assert records.job(exhausted_enqueue).failure_reason == "enqueue_attempts_exhausted"
    for job_id in (exhausted_worker, exhausted_enqueue):
        assert records.job(job_id).status is JobStatus.failed
    for job_id in (orphan, unpublished):
        assert records.job(job_id).status is JobStatus.pending
    assert records.job(running).status is JobStatus.processing
    assert records.published_job_ids(infrastructure) == sorted([orphan, unpublished])


def test_sweep_republishes_long_pending_jobs_once_the_queue_is_empty(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    """A pending job whose message was lost (purged, expired) is published again, but only while
    SQS shows an empty queue: during a backlog its message is most likely still waiting."""
    settings = app_settings()
    lost = records.add_job(
        status=JobStatus.pending, age_s=settings.stale_pending_after_seconds + 60
    )
    recent = records.add_job(status=JobStatus.pending, age_s=10)

    assert sweep_jobs(settings=settings, queue_is_empty=False).republished == []
    assert sweep_jobs(settings=settings, queue_is_empty=None).republished == []
    assert sweep_jobs(settings=settings, queue_is_empty=True).republished == [lost]

    assert records.published_job_ids(infrastructure) == [lost]
    assert (records.job(lost).status, records.job(lost).enqueue_attempts) == (JobStatus.pending, 2)
    assert records.job(recent).enqueue_attempts == 1


def test_two_sweeps_at_once_never_publish_one_job_twice(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    # Small batches, so the two sweeps interleave over several batches each.
    settings = app_settings(sweep_batch_size=4)
    job_ids = [records.add_job(status=JobStatus.queue_failed) for _ in range(24)]
    start = threading.Barrier(2)
    reports: list[SweepReport] = []
    errors: list[BaseException] = []

    def _sweep_until_done() -> None:
        try:
            start.wait(timeout=30)
            while True:
                report = sweep_jobs(settings=settings, queue_is_empty=False)
                reports.append(report)
                if not report.republished:
                    return
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=_sweep_until_done) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert not any(thread.is_alive() for thread in threads)

    republished = [job_id for report in reports for job_id in report.republished]
    assert sorted(republished) == sorted(job_ids)  # each once, none twice, none missed
    assert records.published_job_ids(infrastructure) == sorted(job_ids)
    for job_id in job_ids:
        row = records.job(job_id)
        assert (row.status, row.enqueue_attempts) == (JobStatus.pending, 2)


def test_dead_workers_are_judged_only_once_the_database_has_answered_for_a_while(
    app_settings: Callable[..., Settings],
) -> None:
    """Right after an outage a job whose claim could not be handed back looks abandoned while
    its own retry is about to claim it: beat waits twice the longest retry backoff first."""
    watch = DatabaseWatch(app_settings(retry_backoff_max_seconds=0.5))
    assert not watch.may_recover()  # a fresh beat waits too
    time.sleep(1.1)
    assert watch.may_recover()
    watch.failed()
    assert not watch.may_recover()
