"""Reading jobs."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

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
