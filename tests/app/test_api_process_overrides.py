"""POST /books/{id}/images/{image_id}/process with overrides: checked, recorded, shown, and
what a request meets when the image already has an active job."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import session_scope
from app.models import ImageProcessingJob
from tests.app.helpers import PNG_BYTES, decode_celery_message
from tests.app_stack import Infrastructure


def _image(client: TestClient) -> tuple[int, int]:
    book_id = int(client.post("/books", json={"title": "Dune"}).json()["id"])
    upload = client.post(
        f"/books/{book_id}/images",
        files={"file": ("a.png", PNG_BYTES, "image/png")},
        data={"is_primary": "false"},
    )
    return book_id, int(upload.json()["image"]["id"])


def _process(client: TestClient, book_id: int, image_id: int, body: Any = None) -> Any:
    url = f"/books/{book_id}/images/{image_id}/process"
    return client.post(url) if body is None else client.post(url, json=body)


def test_overrides_are_recorded_on_the_job_and_shown(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    book_id, image_id = _image(client)
    response = _process(client, book_id, image_id, {"model_chain": ["u2net"], "backdrop": "white"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["requested_model_chain"], job["requested_backdrop"]) == (["u2net"], "white")
    with session_scope() as session:
        row = session.get(ImageProcessingJob, job["id"])
        assert row is not None
        assert (row.requested_model_chain, row.requested_backdrop) == (["u2net"], "white")
    assert client.get(f"/jobs/{job['id']}").json()["requested_model_chain"] == ["u2net"]
    # The message names the job only: the worker reads the overrides from the row.
    [message] = infrastructure.receive_all()
    assert decode_celery_message(message["Body"])[1:] == ([job["id"], book_id, image_id], {})


def test_no_body_and_auto_are_as_configured(client: TestClient) -> None:
    book_id, image_id = _image(client)
    job = _process(client, book_id, image_id).json()
    assert (job["requested_model_chain"], job["requested_backdrop"]) == (None, None)
    other_book, other_image = _image(client)
    auto = _process(client, other_book, other_image, {"backdrop": "auto"}).json()
    assert auto["requested_backdrop"] is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"model_chain": ["isnet-general-use"]}, "unknown_model"),
        ({"model_chain": ["u2net-large"]}, "unknown_model"),
        ({"model_chain": ["u2net", "u2net"]}, "duplicate_model"),
        ({"model_chain": []}, "validation_error"),
        ({"model_chain": ["../u2net"]}, "validation_error"),
        ({"backdrop": "grey"}, "validation_error"),
        ({"backdrops": "white"}, "validation_error"),
        ([], "validation_error"),
    ],
)
def test_what_the_fleet_cannot_do_is_a_422_with_a_named_reason(
    client: TestClient, infrastructure: Infrastructure, body: Any, code: str
) -> None:
    book_id, image_id = _image(client)
    response = _process(client, book_id, image_id, body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    if code == "unknown_model":
        assert "u2netp, u2net" in response.json()["message"]
    assert infrastructure.receive_all() == []


def test_an_active_job_is_returned_unless_the_request_asks_for_something_else(
    client: TestClient,
) -> None:
    book_id, image_id = _image(client)
    white = {"model_chain": ["u2net"], "backdrop": "white"}
    first = _process(client, book_id, image_id, white).json()
    # The same request again, or one with no opinion: the active job.
    assert _process(client, book_id, image_id, white).json()["id"] == first["id"]
    assert _process(client, book_id, image_id).json()["id"] == first["id"]
    # Something else while it is active: 409, naming the active job.
    conflict = _process(client, book_id, image_id, {"backdrop": "black"})
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "active_job_differs"
    assert first["id"] in conflict.json()["message"]


def test_an_image_of_another_book_is_not_found(client: TestClient) -> None:
    _book_id, image_id = _image(client)
    other_book, _ = _image(client)
    response = _process(client, other_book, image_id, {"backdrop": "white"})
    assert response.status_code == 404
