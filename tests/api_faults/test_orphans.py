"""The database fails after the upload reached S3: the object goes again (issue 18, defect 3).

The connection is cut by Postgres itself, at the moment named: a trigger on the row that
terminates its own backend, on the INSERT (a plain trigger) or at the COMMIT (a deferred
constraint trigger), for one book only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from tests.api_faults.stack import ApiStack
from tests.worker.integration.faults.stack import jpeg

_CUT = """
CREATE OR REPLACE FUNCTION cut_connection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_terminate_backend(pg_backend_pid());
    RETURN NEW;
END $$
"""
# (table, when the trigger fires) for each moment.
MOMENTS = {
    "image insert": ("book_images", "insert"),
    "image commit": ("book_images", "commit"),
    "job insert": ("image_processing_jobs", "insert"),
}


@contextmanager
def cut_at(database_url: str, *, table: str, when: str, book_id: int) -> Iterator[None]:
    name = f"cut_{uuid.uuid4().hex[:8]}"
    if when == "commit":
        create = (
            f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        )
    else:
        create = f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW "
    create += f"WHEN (NEW.book_id = {int(book_id)}) EXECUTE FUNCTION cut_connection()"
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(_CUT))
        connection.execute(text(create))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TRIGGER {name} ON {table}"))
        engine.dispose()


# Only a primary image queues a job.
CASES = [(moment, primary) for moment in MOMENTS for primary in (False, True)]
CASES.remove(("job insert", False))


@pytest.mark.parametrize(("moment", "primary"), CASES)
def test_an_upload_whose_rows_fail_leaves_no_object(
    api: ApiStack, moment: str, primary: bool
) -> None:
    table, when = MOMENTS[moment]
    book_id = api.create_book(f"cut at {moment}")
    with cut_at(api.database_url, table=table, when=when, book_id=book_id), api.client() as client:
        response = client.post(
            f"/books/{book_id}/images",
            files={"file": ("photo.jpg", jpeg(), "image/jpeg")},
            data={"is_primary": str(primary).lower()},
        )
    assert (response.status_code, response.json()["code"]) == (503, "database_unavailable")
    assert api.objects(f"books/{book_id}/") == []
    with api.client() as client:
        assert client.get(f"/books/{book_id}").json()["images"] == []
        retried = client.post(
            f"/books/{book_id}/images",
            files={"file": ("photo.jpg", jpeg(), "image/jpeg")},
            data={"is_primary": str(primary).lower()},
        )
    assert retried.status_code == 201  # the pool let the cut connection go
    assert len(api.objects(f"books/{book_id}/")) == 1


def test_an_import_whose_rows_fail_leaves_no_copy(api: ApiStack) -> None:
    book_id = api.create_book("cut import")
    listing = f"listing-{uuid.uuid4().hex[:8]}"
    s3 = api.infrastructure.s3()
    for name in ("a.jpg", "b.jpg"):
        s3.put_object(
            Bucket=api.infrastructure.bucket, Key=f"listings/{listing}/{name}", Body=jpeg()
        )
    with (
        cut_at(api.database_url, table="image_processing_jobs", when="insert", book_id=book_id),
        api.client() as client,
    ):
        response = client.post(f"/books/{book_id}/imports", json={"listing_id": listing})
    assert (response.status_code, response.json()["code"]) == (503, "database_unavailable")
    assert api.objects(f"books/{book_id}/") == []
    assert len(api.objects(f"listings/{listing}/")) == 2  # the source is never touched
