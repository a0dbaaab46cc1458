"""Reading jobs."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from app.db import session_scope
from app.failure_reasons import FailureReason
from app.job_lifecycle import fail_job
from tests.app.helpers import PNG_BYTES


def _primary_upload(client: TestClient, book_id: int) -> dict:
    response = client.post(
        f"/books/{book_id}/images",
        files={"file": ("a.png", PNG_BYTES)},
        data={"is_primary": "true"},
    )
    return response.json()["job"]


def test_get_a_job_and_list_a_books_jobs(client: TestClient) -> None:
    book_id = client.post("/books", json={"title": "Dune"}).json()["id"]
    other_id = client.post("/books", json={"title": "Emma"}).json()["id"]
    first = _primary_upload(client, book_id)
    second = _primary_upload(client, book_id)
    _primary_upload(client, other_id)
    assert client.get(f"/jobs/{first['id']}").json() == first | {
        "updated_at": client.get(f"/jobs/{first['id']}").json()["updated_at"]
    }
    listing = client.get(f"/books/{book_id}/jobs").json()
    assert listing["total"] == 2
    assert [job["id"] for job in listing["items"]] == [second["id"], first["id"]]
    assert client.get(f"/books/{book_id}/jobs", params={"limit": 1}).json()["total"] == 2
    assert len(client.get(f"/books/{book_id}/jobs", params={"limit": 1}).json()["items"]) == 1
    assert client.get(f"/books/{book_id}/jobs", params={"status": "completed"}).json() == {
        "items": [],
        "total": 0,
    }


def test_unknown_and_malformed_job_ids(client: TestClient) -> None:
    response = client.get(f"/jobs/{uuid.uuid4()}")
    assert (response.status_code, response.json()["code"]) == (404, "job_not_found")
    response = client.get("/jobs/not-a-uuid")
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    response = client.get("/books/31337/jobs")
    assert (response.status_code, response.json()["code"]) == (404, "book_not_found")
    response = client.get("/books/1/jobs", params={"status": "exploded"})
    assert response.status_code == 422


def test_a_failed_job_shows_its_reason_and_the_schema_lists_every_reason(
    client: TestClient,
) -> None:
    book_id = client.post("/books", json={"title": "Dune"}).json()["id"]
    job = _primary_upload(client, book_id)
    with session_scope() as session:
        fail_job(session=session, job_id=uuid.UUID(job["id"]), reason=FailureReason.invalid_image)
    shown = client.get(f"/jobs/{job['id']}").json()
    assert (shown["status"], shown["failure_reason"]) == ("failed", "invalid_image")

    schema = client.get("/openapi.json").json()
    job_out = schema["components"]["schemas"]["JobOut"]["properties"]["failure_reason"]
    assert {"$ref": "#/components/schemas/FailureReason"} in job_out["anyOf"]
    listed = schema["components"]["schemas"]["FailureReason"]["enum"]
    assert listed == [reason.value for reason in FailureReason]
