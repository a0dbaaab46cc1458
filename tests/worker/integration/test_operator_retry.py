"""After an outage, one command puts a failed batch right: a real worker fails the jobs, the cause
is fixed, `image-processor jobs retry` queues new attempts that complete, and a second run
retries nothing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from app.db import session_scope
from app.enqueue import queue_image_processing
from app.failure_reasons import FailureReason
from app.models import JobStatus
from app.settings import Settings
from tests.app_stack import Infrastructure
from tests.corpus import book_photo
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker

pytestmark = [pytest.mark.model, pytest.mark.slow]

CLI = [sys.executable, "-m", "worker.cli"]
BATCH = 3


def run_json(*args: str) -> Any:
    done = subprocess.run(
        [*CLI, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_failed_batch_is_retried_to_completion_and_a_second_run_retries_nothing(
    worker_settings: Settings,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    buffer = io.BytesIO()
    book_photo().save(buffer, format="JPEG", quality=90)
    photo = buffer.getvalue()
    # The originals are not there yet (an upload path that wrote rows before the objects, a
    # bucket restored late): every job fails as source_object_missing.
    failed = []
    for _ in range(BATCH):
        book_id, image_id = records.add_book_with_image(s3_key_name="photo.jpg")
        with session_scope() as session:
            job = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
            failed.append(str(job.id))
    worker = start_workers(worker_settings)
    for job in records.wait_for_jobs(failed, worker=worker).values():
        assert job.status is JobStatus.failed
        assert job.failure_reason is FailureReason.source_object_missing
    summary = run_json("jobs", "--status", "failed")
    assert summary["counts"] == [
        {"status": "failed", "reason": "source_object_missing", "count": BATCH}
    ]

    for job_id in failed:
        row = records.job(job_id)
        records.put_object(infrastructure, f"books/{row.book_id}/photo.jpg", photo)
    retried = run_json("jobs", "retry", "--reason", "source_object_missing", "--since", "1h")
    assert (retried["queued"], retried["not_queued"]) == (BATCH, 0)
    assert sorted(pair["failed_job"] for pair in retried["retried"]) == sorted(failed)
    new_jobs = [pair["new_job"] for pair in retried["retried"]]
    for job in records.wait_for_jobs(new_jobs, worker=worker).values():
        assert job.status is JobStatus.completed

    again = run_json("jobs", "retry", "--reason", "source_object_missing")
    assert (again["selected"], again["queued"]) == (0, 0)
    counts = {(row["status"], row["reason"]): row["count"] for row in run_json("jobs")["counts"]}
    assert counts == {("failed", "source_object_missing"): BATCH, ("completed", None): BATCH}
