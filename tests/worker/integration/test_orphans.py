"""The orphan sweep against Postgres and S3 on moto_server (and the local backend): it deletes
what no image row names once it is old enough, and nothing else, a bounded page per run.

moto records each object's real upload time as its LastModified, so the minimum age is scaled
down to seconds and the test waits it out.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from app.settings import Settings
from app.storage import get_storage
from tests.app_stack import Infrastructure
from tests.worker.integration import records
from worker.orphans import OrphanCursor, sweep_orphaned_objects

MIN_AGE_S = 2


def _sweep(settings: Settings, cursor: OrphanCursor) -> dict[str, object]:
    report = sweep_orphaned_objects(settings=settings, storage=get_storage(), cursor=cursor)
    return report.as_dict()


def test_the_sweep_deletes_old_objects_no_row_names_and_nothing_else(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    settings = app_settings(orphan_object_min_age_seconds=MIN_AGE_S)
    book_id, _ = records.add_book_with_image(s3_key_name="photo.jpg")
    named = f"books/{book_id}/photo.jpg"
    # What a worker that died before its commit left, and an upload whose row never came.
    orphans = [f"books/{book_id}_processed_{uuid.uuid4()}.png", f"books/{book_id}/dead.jpg"]
    outside = "listings/L-1/a.jpg"  # the same bucket, another area: never beat's to touch
    for key in [named, *orphans, outside]:
        records.put_object(infrastructure, key, b"old")
    time.sleep(MIN_AGE_S + 1)
    young = f"books/{book_id}/just-written.jpg"  # its row may be about to be committed
    records.put_object(infrastructure, young, b"young")

    report = _sweep(settings, OrphanCursor())

    assert report == {"examined": 4, "deleted": 2, "kept": 2, "failed": 0}
    assert records.object_keys(infrastructure) == sorted([named, young, outside])


def test_each_run_examines_at_most_max_keys_and_the_next_goes_on_from_there(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    settings = app_settings(orphan_object_min_age_seconds=0, orphan_sweep_max_keys=3)
    book_id, _ = records.add_book_with_image(s3_key_name="a.jpg")
    keys = [f"books/{book_id}/{name}.jpg" for name in "abcde"]  # a.jpg is named by a row
    for key in [*keys, "listings/L-1/a.jpg"]:
        records.put_object(infrastructure, key, b"x")
    cursor = OrphanCursor()

    assert _sweep(settings, cursor) == {"examined": 3, "deleted": 2, "kept": 1, "failed": 0}
    assert cursor.after == f"{book_id}/c.jpg"  # the first page: a, b, c
    assert records.object_keys(infrastructure, "books/") == [keys[0], keys[3], keys[4]]

    assert _sweep(settings, cursor) == {"examined": 2, "deleted": 2, "kept": 0, "failed": 0}
    assert cursor.after == ""  # the end of the area: the next run starts again
    assert records.object_keys(infrastructure) == [keys[0], "listings/L-1/a.jpg"]

    assert _sweep(settings, cursor) == {"examined": 1, "deleted": 0, "kept": 1, "failed": 0}


def test_the_sweep_works_on_the_local_backend(
    app_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """The embedded mode's storage: a directory per area, the file's mtime as its age."""
    settings = app_settings(
        storage_backend="local",
        local_storage_dir=str(tmp_path),
        orphan_object_min_age_seconds=3600,
        orphan_sweep_max_keys=2,
    )
    book_id, _ = records.add_book_with_image(s3_key_name="photo.jpg")
    images, listings = tmp_path / "images", tmp_path / "listings"
    files = {name: images / str(book_id) / name for name in ("photo.jpg", "dead.jpg", "fresh.jpg")}
    outside = listings / "L-1" / "a.jpg"
    two_hours_ago = time.time() - 7200
    for path in [*files.values(), outside]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        if path.name != "fresh.jpg":
            os.utime(path, (two_hours_ago, two_hours_ago))
    cursor = OrphanCursor()

    # Sorted: dead.jpg, fresh.jpg | photo.jpg.
    assert _sweep(settings, cursor) == {"examined": 2, "deleted": 1, "kept": 1, "failed": 0}
    assert _sweep(settings, cursor) == {"examined": 1, "deleted": 0, "kept": 1, "failed": 0}
    assert sorted(path.name for path in images.rglob("*") if path.is_file()) == [
        "fresh.jpg",
        "photo.jpg",
    ]
    assert outside.exists()


def test_a_database_without_image_rows_deletes_nothing(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    """Beat pointed at the wrong, or an empty, database sees every object as unnamed: it must
    not take the bucket for a bucket of orphans."""
    settings = app_settings(orphan_object_min_age_seconds=0)
    keys = ["books/1/a.jpg", f"books/1_processed_{uuid.uuid4()}.png"]
    for key in keys:
        records.put_object(infrastructure, key, b"x")

    assert _sweep(settings, OrphanCursor()) == {"examined": 2, "deleted": 0, "kept": 2, "failed": 0}
    assert records.object_keys(infrastructure) == sorted(keys)
