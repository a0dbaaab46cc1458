"""Uploads: content sniffing, size limits, queueing, and a broker that is down."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db import session_scope
from app.models import BookImage, ImageProcessingJob, JobStatus
from app.settings import Settings
from tests import servers
from tests.app.helpers import (
    GIF_BYTES,
    JPEG_BYTES,
    PNG_BYTES,
    TIFF_BYTES,
    WEBP_BYTES,
    decode_celery_message,
)
from tests.app_stack import API_KEY, Infrastructure


def _book(client: TestClient) -> int:
    return int(client.post("/books", json={"title": "Dune"}).json()["id"])


def _upload(
    client: TestClient, book_id: int, data: bytes, *, name: str = "photo.bin", primary: bool = True
):
    return client.post(
        f"/books/{book_id}/images",
        files={"file": (name, data, "application/octet-stream")},
        data={"is_primary": str(primary).lower()},
    )


def _count(model: type) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_primary_upload_puts_exactly_one_decodable_message_on_the_queue(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    book_id = _book(client)
    response = _upload(client, book_id, PNG_BYTES)
    assert response.status_code == 201
    image, job = response.json()["image"], response.json()["job"]
    assert job["status"] == "pending"
    assert job["enqueue_attempts"] == 1
    [message] = infrastructure.receive_all()
    task, args, kwargs = decode_celery_message(message["Body"])
    assert (task, args, kwargs) == (
        "worker.tasks.process_image",
        [job["id"], book_id, image["id"]],
        {},
    )
    # Stored under the prefix once; the database key has no prefix.
    assert image["s3_key"].startswith(f"{book_id}/")
    assert image["s3_key"].endswith(".png")
    head = infrastructure.s3().head_object(
        Bucket=infrastructure.bucket, Key=f"books/{image['s3_key']}"
    )
    assert head["ContentType"] == "image/png"


def test_non_primary_upload_queues_nothing(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    book_id = _book(client)
    response = _upload(client, book_id, JPEG_BYTES, primary=False)
    assert response.status_code == 201
    assert response.json()["job"] is None
    assert infrastructure.receive_all() == []


def test_a_new_primary_replaces_the_old_one_and_images_keep_their_order(
    client: TestClient,
) -> None:
    book_id = _book(client)
    first = _upload(client, book_id, PNG_BYTES).json()["image"]
    second = _upload(client, book_id, PNG_BYTES).json()["image"]
    images = client.get(f"/books/{book_id}").json()["images"]
    assert [(i["id"], i["display_order"], i["is_primary"]) for i in images] == [
        (first["id"], 1, False),
        (second["id"], 2, True),
    ]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (JPEG_BYTES, "image/jpeg"),
        (PNG_BYTES, "image/png"),
        (WEBP_BYTES, "image/webp"),
        (TIFF_BYTES, "image/tiff"),
        (b"MM\x00*" + b"\x00" * 8, "image/tiff"),
        (GIF_BYTES, "image/gif"),
        (b"GIF87a" + b"\x00" * 8, "image/gif"),
    ],
)
def test_accepted_types_are_recognised_by_content(
    client: TestClient, infrastructure: Infrastructure, data: bytes, content_type: str
) -> None:
    response = _upload(client, _book(client), data, name="misleading.txt", primary=False)
    assert response.status_code == 201
    key = response.json()["image"]["s3_key"]
    head = infrastructure.s3().head_object(Bucket=infrastructure.bucket, Key=f"books/{key}")
    assert head["ContentType"] == content_type


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7 not an image",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"BM" + b"\x00" * 64,  # BMP is not accepted
    ],
)
def test_anything_else_is_415_whatever_its_name(client: TestClient, data: bytes) -> None:
    book_id = _book(client)
    response = _upload(client, book_id, data, name="cover.png")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert _count(BookImage) == 0


def test_over_the_limit_is_413(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    app_settings(max_upload_bytes=1000)
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        book_id = _book(client)
        assert (
            _upload(client, book_id, PNG_BYTES + b"\x00" * (1000 - len(PNG_BYTES))).status_code
            == 201
        )
        response = _upload(client, book_id, PNG_BYTES + b"\x00" * 1000)
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        # A body announced far past the limit is refused before it is read.
        huge = client.post(
            f"/books/{book_id}/images",
            content=b"x" * 100,
            headers={
                "Content-Length": str(10**9),
                "Content-Type": "multipart/form-data; boundary=x",
            },
        )
        assert huge.status_code == 413
    assert _count(BookImage) == 1
    assert len(infrastructure.receive_all()) == 1


def test_default_limit_is_25_mb(client: TestClient) -> None:
    book_id = _book(client)
    response = _upload(client, book_id, PNG_BYTES + b"\x00" * (25 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_upload_to_an_unknown_book_is_404_and_stores_nothing(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    response = _upload(client, 4242, PNG_BYTES)
    assert response.status_code == 404
    assert response.json()["code"] == "book_not_found"
    assert "Contents" not in infrastructure.s3().list_objects_v2(Bucket=infrastructure.bucket)


def test_broker_unreachable_still_2xx_with_a_queue_failed_job(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    # S3 and the database work; the SQS endpoint the broker uses does not answer.
    app_settings(broker_url=f"sqs://127.0.0.1:{servers.free_port()}")
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        book_id = _book(client)
        response = _upload(client, book_id, PNG_BYTES)
        assert response.status_code == 201
        job = response.json()["job"]
        assert job["status"] == "queue_failed"
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "queue_failed"
    with session_scope() as session:
        stored = session.scalars(select(ImageProcessingJob)).one()
        assert stored.status is JobStatus.queue_failed
    assert infrastructure.receive_all() == []


def test_process_returns_the_active_job_then_a_new_one_once_finished(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    book_id = _book(client)
    image_id = _upload(client, book_id, PNG_BYTES, primary=False).json()["image"]["id"]
    first = client.post(f"/books/{book_id}/images/{image_id}/process")
    assert first.status_code == 202
    again = client.post(f"/books/{book_id}/images/{image_id}/process")
    assert again.json()["id"] == first.json()["id"]
    with session_scope() as session:
        job = session.scalars(select(ImageProcessingJob)).one()
        job.status = JobStatus.failed
    third = client.post(f"/books/{book_id}/images/{image_id}/process")
    assert third.json()["id"] != first.json()["id"]
    assert len(infrastructure.receive_all()) == 2
    assert client.post(f"/books/{book_id}/images/999/process").json()["code"] == "image_not_found"
    other_book = _book(client)
    wrong_book = client.post(f"/books/{other_book}/images/{image_id}/process")
    assert wrong_book.status_code == 404


def test_process_404s_name_what_is_missing(client: TestClient) -> None:
    """The book first, then the image, as one query answers them (app/catalog.py)."""
    book_id = _book(client)
    image_id = _upload(client, book_id, PNG_BYTES, primary=False).json()["image"]["id"]
    other_book = _book(client)

    def code(book: int, image: int) -> tuple[int, str | None]:
        response = client.post(f"/books/{book}/images/{image}/process")
        return response.status_code, response.json().get("code")

    assert code(4242, image_id) == (404, "book_not_found")  # the image exists, the book not
    assert code(4242, 4243) == (404, "book_not_found")
    assert code(other_book, image_id) == (404, "image_not_found")  # another book's image
    assert code(book_id, 4243) == (404, "image_not_found")
    assert code(book_id, image_id) == (202, None)
