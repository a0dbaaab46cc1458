"""A real worker consumes jobs the API enqueued and records exactly one result per job."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import pytest
from fastapi.testclient import TestClient

from app.celery_client import send_process_image
from app.models import JobStatus
from app.settings import Settings
from tests.app_stack import Infrastructure
from tests.corpus import book_photo
from tests.servers import wait_until
from tests.worker.integration import records
from tests.worker.integration.records import JobRow
from tests.worker.integration.workers import RunningWorker
from worker.models.base import MaskModel
from worker.pipeline import PipelineConfig, process_image_bytes

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _jpeg(size: tuple[int, int], quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    book_photo(size).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    book_photo(size).save(buffer, format="PNG")
    return buffer.getvalue()


def _assert_exact_result(
    row: JobRow,
    *,
    infrastructure: Infrastructure,
    settings: Settings,
    models: Sequence[MaskModel],
    images_before: int,
) -> None:
    """The job's row, its result row and its S3 object, against the pipeline run in-process."""
    source = next(image for image in records.images(row.book_id) if image.id == row.source_image_id)
    original, _ = records.get_object(infrastructure, f"books/{source.s3_key}")
    expected = process_image_bytes(
        original, models=models, config=PipelineConfig.from_settings(settings)
    )

    assert row.status is JobStatus.completed
    assert row.attempt_count == 1
    assert row.failure_reason is None
    assert (row.model_used, row.escalated, row.subject_brightness, row.background_color) == (
        expected.model,
        expected.escalated,
        expected.brightness,
        expected.background,
    )
    assert row.result_image_id is not None
    assert row.completed_at is not None

    key = f"{row.book_id}_processed_{row.id}.png"
    book_images = records.images(row.book_id)
    assert len(book_images) == images_before + 1
    [result] = [image for image in book_images if image.source_image_id is not None]
    assert result == records.ImageRow(
        id=row.result_image_id,
        book_id=row.book_id,
        s3_key=key,  # the database key has no prefix...
        display_order=images_before + 1,
        is_primary=False,
        source_image_id=row.source_image_id,
    )
    # ...the object lives under it, once.
    stored, content_type = records.get_object(infrastructure, f"books/{key}")
    assert content_type == "image/png"
    assert key not in records.object_keys(infrastructure)
    assert records.object_keys(infrastructure, f"books/{row.book_id}_processed_") == [
        f"books/{key}"
    ]
    # The worker's pool process runs the same onnxruntime graph with the same
    # thread count as `models`, and PNG encoding is deterministic: same bytes.
    assert stored == expected.png


def test_worker_completes_uploaded_and_imported_images_exactly(
    client: TestClient,
    worker_settings: Settings,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
    reference_models: list[MaskModel],
) -> None:
    worker = start_workers(worker_settings)

    # An upload: a non-primary image first, then the primary one, which is queued.
    uploaded_book = records.create_book(client)
    extra = records.upload(client, uploaded_book, _png((320, 240)), name="back.png", primary=False)
    assert extra.status_code == 201
    assert extra.json()["job"] is None
    primary = records.upload(client, uploaded_book, _jpeg((640, 480)), name="a.jpg", primary=True)
    assert primary.status_code == 201
    upload_job = primary.json()["job"]
    assert upload_job["source_image_id"] == primary.json()["image"]["id"]

    # A listing import of two photos: the first copied is queued.
    for name, data in (("1.jpg", _jpeg((800, 600), 85)), ("2.png", _png((480, 640)))):
        records.put_object(infrastructure, f"listings/L-42/{name}", data)
    imported_book = records.create_book(client, "Imported")
    response = client.post(f"/books/{imported_book}/imports", json={"listing_id": "L-42"})
    assert response.status_code == 200, response.text
    import_job = response.json()["job"]
    assert import_job["source_image_id"] == response.json()["images"][0]["id"]

    rows = records.wait_for_jobs([upload_job["id"], import_job["id"]], worker=worker)
    for job_id in (upload_job["id"], import_job["id"]):
        _assert_exact_result(
            rows[job_id],
            infrastructure=infrastructure,
            settings=worker_settings,
            models=reference_models,
            images_before=2,
        )
        # One structured line for the outcome, with the job's ids, model and timings.
        [done] = [
            record
            for record in records.job_log_records(worker, job_id)
            if record["message"] == "job completed"
        ]
        assert (done["book_id"], done["image_id"], done["model"]) == (
            rows[job_id].book_id,
            rows[job_id].source_image_id,
            rows[job_id].model_used,
        )
        assert done["total_s"] >= done["pipeline_s"] > 0
    assert records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0}


def test_the_same_message_delivered_twice_gives_one_result(
    client: TestClient,
    short_limits_settings: Callable[..., Settings],
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    # A short hard limit: a duplicate that finds the job held retries once the
    # holder's claim could be stale (the hard limit), so it is seen through here.
    settings = short_limits_settings(soft=15, hard=20, visibility=40)
    book_id = records.create_book(client)
    response = records.upload(client, book_id, _jpeg((640, 480)), name="a.jpg", primary=True)
    job_id, image_id = response.json()["job"]["id"], response.json()["image"]["id"]
    # The same task for the same job, published again (SQS delivers at least once).
    send_process_image(job_id=job_id, book_id=book_id, image_id=image_id)
    assert records.queue_counts(infrastructure)["visible"] == 2

    worker = start_workers(settings)
    [row] = records.wait_for_jobs([job_id], worker=worker).values()
    assert row.status is JobStatus.completed

    def _both_deliveries_handled() -> list[str]:
        messages = [record["message"] for record in records.job_log_records(worker, job_id)]
        done = [m for m in messages if m in ("job completed", "job not claimed: finished")]
        return done if len(done) == 2 else []

    outcomes = wait_until(
        _both_deliveries_handled,
        timeout=settings.task_time_limit + 60,
        what="the duplicate delivery to be handled",
        processes=(worker.process,),
    )
    assert sorted(outcomes) == ["job completed", "job not claimed: finished"]
    assert records.jobs_of_image(image_id) == [records.job(job_id)]
    assert row.attempt_count == 1
    assert [image.id for image in records.images(book_id) if image.source_image_id] == [
        row.result_image_id
    ]
    assert records.object_keys(infrastructure, f"books/{book_id}_processed_") == [
        f"books/{book_id}_processed_{job_id}.png"
    ]
    wait_until(
        lambda: records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0},
        timeout=30,
        what="both messages to be acknowledged",
    )
