"""Reading what the worker wrote: job rows, image rows, S3 objects and queue messages."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from app.api.schemas import JobOut
from app.db import session_scope
from app.enqueue import queue_image_processing
from app.models import (
    TERMINAL_STATUSES,
    Book,
    BookImage,
    ImageProcessingJob,
    JobStatus,
    utc_now,
)
from tests.app.helpers import decode_celery_message
from tests.app_stack import Infrastructure
from tests.servers import wait_until
from tests.worker.integration.workers import RunningWorker

# A job as the API shows it: the app's own schema, read straight from the row.
JobRow = JobOut


@dataclass(frozen=True)
class ImageRow:
    id: int
    book_id: int
    s3_key: str
    display_order: int
    is_primary: bool
    source_image_id: int | None


def job(job_id: uuid.UUID | str) -> JobRow:
    with session_scope() as session:
        row = session.get(ImageProcessingJob, uuid.UUID(str(job_id)))
        assert row is not None, f"no job {job_id}"
        return JobOut.model_validate(row)


def images(book_id: int) -> list[ImageRow]:
    with session_scope() as session:
        rows = session.scalars(
            select(BookImage).where(BookImage.book_id == book_id).order_by(BookImage.id)
        ).all()
        return [
            ImageRow(**{name: getattr(row, name) for name in ImageRow.__dataclass_fields__})
            for row in rows
        ]


def jobs_of_image(image_id: int) -> list[JobRow]:
    with session_scope() as session:
        ids = session.scalars(
            select(ImageProcessingJob.id).where(ImageProcessingJob.source_image_id == image_id)
        ).all()
    return [job(job_id) for job_id in ids]


def add_book_with_image(*, s3_key_name: str, title: str = "Direct") -> tuple[int, int]:
    """A book and one primary image row whose object the caller puts at `books/<book_id>/<name>`."""
    with session_scope() as session:
        book = Book(title=title)
        session.add(book)
        session.flush()
        image = BookImage(
            book_id=book.id, s3_key=f"{book.id}/{s3_key_name}", display_order=1, is_primary=True
        )
        session.add(image)
        session.flush()
        return book.id, image.id


def wait_for_jobs(
    job_ids: list[str] | list[uuid.UUID],
    *,
    worker: RunningWorker | None = None,
    timeout: float = 120.0,
    statuses: tuple[JobStatus, ...] = TERMINAL_STATUSES,
) -> dict[str, JobRow]:
    """Every job in one of `statuses` (finished, by default); the worker must stay up."""

    def _all_there() -> dict[str, JobRow] | None:
        rows = {str(job_id): job(job_id) for job_id in job_ids}
        return rows if all(row.status in statuses for row in rows.values()) else None

    return wait_until(
        _all_there,
        timeout=timeout,
        what=f"{len(job_ids)} job(s) to reach {[status.value for status in statuses]}",
        processes=(worker.process,) if worker else (),
    )


def object_keys(infrastructure: Infrastructure, prefix: str = "") -> list[str]:
    s3, keys, token = infrastructure.s3(), [], None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=infrastructure.bucket, Prefix=prefix, **extra)
        keys += [item["Key"] for item in page.get("Contents", [])]
        token = page.get("NextContinuationToken")
        if not token:
            return sorted(keys)


def get_object(infrastructure: Infrastructure, key: str) -> tuple[bytes, str]:
    response = infrastructure.s3().get_object(Bucket=infrastructure.bucket, Key=key)
    return response["Body"].read(), response["ContentType"]


def put_object(infrastructure: Infrastructure, key: str, data: bytes) -> None:
    infrastructure.s3().put_object(Bucket=infrastructure.bucket, Key=key, Body=data)


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def queue_counts(infrastructure: Infrastructure, queue_url: str | None = None) -> dict[str, int]:
    attributes = infrastructure.sqs().get_queue_attributes(
        QueueUrl=queue_url or infrastructure.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    }


def create_book(client: TestClient, title: str = "Dune") -> int:
    response = client.post("/books", json={"title": title})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def upload(client: TestClient, book_id: int, data: bytes, *, name: str, primary: bool) -> Any:
    return client.post(
        f"/books/{book_id}/images",
        files={"file": (name, data, "application/octet-stream")},
        data={"is_primary": str(primary).lower()},
    )


def job_log_records(worker: RunningWorker, job_id: str) -> list[dict[str, Any]]:
    return [record for record in worker.records() if record.get("job_id") == job_id]


def enqueue_direct(infrastructure: Infrastructure, data: bytes, *, name: str = "photo.jpg") -> str:
    """The bytes at `books/<book_id>/<name>`, a primary image row, and the app's enqueue service."""
    book_id, image_id = add_book_with_image(s3_key_name=name)
    put_object(infrastructure, f"books/{book_id}/{name}", data)
    with session_scope() as session:
        queued = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
        return str(queued.id)


def wait_for_status(
    job_id: str, status: JobStatus, *, worker: RunningWorker, timeout: float
) -> JobRow:
    return wait_until(
        lambda: (row := job(job_id)).status is status and row,
        timeout=timeout,
        what=f"job {job_id} to be {status.value}",
        processes=(worker.process,),
        interval=0.1,
    )


def add_job(
    *,
    status: JobStatus,
    age_s: float = 0.0,
    attempt_count: int = 0,
    enqueue_attempts: int = 1,
    publish_failing_for_s: float | None = None,
) -> str:
    """A book, its primary image and a job in `status`, created, queued and claimed `age_s` ago
    (and refused by the broker for `publish_failing_for_s`, a queue_failed job)."""
    book_id, image_id = add_book_with_image(s3_key_name="photo.jpg")
    moment = utc_now() - timedelta(seconds=age_s)
    failing_since = (
        None
        if publish_failing_for_s is None
        else utc_now() - timedelta(seconds=publish_failing_for_s)
    )
    with session_scope() as session:
        row = ImageProcessingJob(
            book_id=book_id,
            source_image_id=image_id,
            status=status,
            attempt_count=attempt_count,
            enqueue_attempts=enqueue_attempts,
            created_at=moment,
            queued_at=moment if enqueue_attempts else None,
            publish_failing_since=failing_since,
            started_at=moment if status is JobStatus.processing else None,
            updated_at=moment,
        )
        session.add(row)
        session.flush()
        return str(row.id)


def published_job_ids(infrastructure: Infrastructure) -> list[str]:
    """The job id of every process_image message now on the queue (received and deleted)."""
    messages = infrastructure.receive_all()
    decoded_messages = [decode_celery_message(message["Body"]) for message in messages]
    assert {task for task, _, _ in decoded_messages} <= {"worker.tasks.process_image"}
    return sorted(str(args[0]) for _, args, _ in decoded_messages)
