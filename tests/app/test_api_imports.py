"""Listing imports: server-side copies, per-image failures, the first copy queued."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.helpers import JPEG_BYTES, decode_celery_message
from tests.app_stack import Infrastructure


def _listing(infrastructure: Infrastructure, listing_id: str, *names: str) -> None:
    s3 = infrastructure.s3()
    for name in names:
        s3.put_object(
            Bucket=infrastructure.bucket,
            Key=f"listings/{listing_id}/{name}",
            Body=JPEG_BYTES,
            ContentType="image/jpeg",
        )


def _book(client: TestClient) -> int:
    return int(client.post("/books", json={"title": "Dune"}).json()["id"])


def _bucket_keys(infrastructure: Infrastructure) -> list[str]:
    listing = infrastructure.s3().list_objects_v2(Bucket=infrastructure.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_first_object_missing_queues_the_first_that_copied(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    _listing(infrastructure, "L-100", "2.jpg", "3.jpg")
    book_id = _book(client)
    response = client.post(
        f"/books/{book_id}/imports",
        json={"listing_id": "L-100", "files": ["1.jpg", "2.jpg", "3.jpg"]},
    )
    assert response.status_code == 200
    result = response.json()
    assert [f["key"] for f in result["failures"]] == ["L-100/1.jpg"]
    assert result["failures"][0]["code"] == "object_missing"
    images = result["images"]
    assert [(i["s3_key"], i["display_order"], i["is_primary"]) for i in images] == [
        (f"{book_id}/2.jpg", 1, True),
        (f"{book_id}/3.jpg", 2, False),
    ]
    assert result["job"]["source_image_id"] == images[0]["id"]
    [message] = infrastructure.receive_all()
    assert decode_celery_message(message["Body"])[1] == [
        result["job"]["id"],
        book_id,
        images[0]["id"],
    ]
    assert f"books/{book_id}/2.jpg" in _bucket_keys(infrastructure)


def test_import_without_a_file_list_takes_every_object_in_name_order(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    _listing(infrastructure, "L-7", "b.jpg", "a.jpg", "c.jpg")
    _listing(infrastructure, "L-70", "other.jpg")  # a listing whose id shares the prefix
    book_id = _book(client)
    result = client.post(f"/books/{book_id}/imports", json={"listing_id": "L-7"}).json()
    assert [i["s3_key"] for i in result["images"]] == [
        f"{book_id}/a.jpg",
        f"{book_id}/b.jpg",
        f"{book_id}/c.jpg",
    ]
    assert result["failures"] == []
    assert [key for key in _bucket_keys(infrastructure) if key.startswith("books/")] == [
        f"books/{book_id}/a.jpg",
        f"books/{book_id}/b.jpg",
        f"books/{book_id}/c.jpg",
    ]


def test_importing_twice_reports_duplicates_and_queues_nothing_new(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    _listing(infrastructure, "L-1", "a.jpg")
    book_id = _book(client)
    client.post(f"/books/{book_id}/imports", json={"listing_id": "L-1"})
    again = client.post(f"/books/{book_id}/imports", json={"listing_id": "L-1"}).json()
    assert again["images"] == []
    assert again["job"] is None
    assert [f["code"] for f in again["failures"]] == ["already_imported"]
    assert len(infrastructure.receive_all()) == 1


def test_unknown_listing_and_unknown_book_are_404(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    book_id = _book(client)
    response = client.post(f"/books/{book_id}/imports", json={"listing_id": "nothing-here"})
    assert (response.status_code, response.json()["code"]) == (404, "listing_not_found")
    _listing(infrastructure, "L-2", "a.jpg")
    response = client.post("/books/777/imports", json={"listing_id": "L-2"})
    assert (response.status_code, response.json()["code"]) == (404, "book_not_found")


def test_listing_ids_and_names_cannot_escape_the_listing(client: TestClient) -> None:
    book_id = _book(client)
    for body in (
        {"listing_id": "../books"},
        {"listing_id": "L-1", "files": ["../../books/1/a.jpg"]},
        {"listing_id": "L-1", "files": ["sub/dir.jpg"]},
    ):
        response = client.post(f"/books/{book_id}/imports", json=body)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
