"""The bad-input corpus through the API and the worker: each job ends as the corpus says."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.db import session_scope
from app.enqueue import queue_image_processing
from app.models import JobStatus
from app.settings import Settings
from tests import servers
from tests.app_stack import Infrastructure
from tests.corpus import Case, bad_inputs
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker

# What the API answers to an upload of each kind it refuses before storing anything.
REFUSED_BY_THE_API = {
    "empty": (415, "unsupported_media_type"),
    "text_as_jpeg": (415, "unsupported_media_type"),
}


def _upload_through_the_api(client: TestClient, case: Case) -> str | None:
    """The job id of the upload, or None when the API refused the file as it must."""
    book_id = records.create_book(client, case.name)
    response = records.upload(client, book_id, case.data, name=case.filename, primary=True)
    if case.name in REFUSED_BY_THE_API:
        assert (response.status_code, response.json()["code"]) == REFUSED_BY_THE_API[case.name]
        assert records.images(book_id) == []
        return None
    assert response.status_code == 201, (case.name, response.text)
    return str(response.json()["job"]["id"])


def _place_directly(infrastructure: Infrastructure, case: Case) -> str:
    """Bytes the API never judged: straight into S3, a row, and the enqueue service."""
    book_id, image_id = records.add_book_with_image(s3_key_name=case.filename, title=case.name)
    records.put_object(infrastructure, f"books/{book_id}/{case.filename}", case.data)
    with session_scope() as session:
        return str(queue_image_processing(session=session, book_id=book_id, image_id=image_id).id)


def _assert_outcome(infrastructure: Infrastructure, case: Case, row: records.JobRow) -> None:
    if case.status == "failed":
        assert (row.status, row.failure_reason) == (JobStatus.failed, case.reason), case.name
        assert row.result_image_id is None
        return
    assert (row.status, row.failure_reason) == (JobStatus.completed, None), case.name
    png, _ = records.get_object(infrastructure, f"books/{row.book_id}_processed_{row.id}.png")
    output = records.decoded(png)
    assert (output.format, output.size) == ("PNG", case.size), case.name


@pytest.mark.model
@pytest.mark.slow
def test_every_corpus_kind_ends_as_expected_and_the_worker_stays_up(
    client: TestClient,
    app_settings: Callable[..., Settings],
    worker_settings: Settings,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    worker = start_workers(worker_settings)
    pool = sorted(worker.children())
    corpus = bad_inputs()

    jobs: list[tuple[Case, str]] = []
    for case in corpus:
        job_id = _upload_through_the_api(client, case)
        if job_id is not None:
            jobs.append((case, job_id))
    for case in corpus:
        jobs.append((case, _place_directly(infrastructure, case)))
    assert len(jobs) == 2 * len(corpus) - len(REFUSED_BY_THE_API)

    rows = records.wait_for_jobs([job_id for _, job_id in jobs], worker=worker, timeout=240)
    for case, job_id in jobs:
        _assert_outcome(infrastructure, case, rows[job_id])

    # The same process and the same pool processes: no input crashed any of them...
    assert worker.alive()
    assert sorted(worker.children()) == pool
    # ...the container health check passes...
    health = subprocess.run(
        [str(servers.VENV_BIN / "python"), "-m", "worker.healthcheck"],
        env={**os.environ, **worker.env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert health.returncode == 0, health.stdout + health.stderr
    # ...and it still takes work.
    plain = next(case for case in corpus if case.name == "plain_jpeg")
    last = _place_directly(infrastructure, plain)
    assert records.wait_for_jobs([last], worker=worker)[last].status is JobStatus.completed


def test_the_api_refuses_an_upload_over_the_size_limit(
    client: TestClient, app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    largest = max(bad_inputs(), key=lambda case: len(case.data))
    app_settings(max_upload_bytes=len(largest.data) - 1)
    book_id = records.create_book(client, largest.name)
    response = records.upload(client, book_id, largest.data, name=largest.filename, primary=True)
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert records.images(book_id) == []
    assert records.object_keys(infrastructure) == []
    assert records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0}
