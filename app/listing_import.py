"""Importing a listing: copy `listings/<listing_id>/*` into the book, queue the first copy.

A missing or uncopyable object is reported per image and never fails the whole
import. Objects are copied server-side; rows are created in the listing's order.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import get_book, has_primary_image
from app.enqueue import commit_job, publish_committed
from app.errors import ApiError
from app.image_order import add_image, lock_book
from app.models import BookImage, ImageProcessingJob
from app.storage import ObjectNotFoundError, Storage, StorageError, TransientStorageError

logger = logging.getLogger(__name__)


FailureCode = Literal["object_missing", "storage_unavailable", "copy_failed", "already_imported"]


@dataclass(frozen=True)
class ImportFailure:
    key: str
    code: FailureCode
    message: str


@dataclass
class ImportOutcome:
    images: list[BookImage] = field(default_factory=list)
    failures: list[ImportFailure] = field(default_factory=list)
    job: ImageProcessingJob | None = None


def listing_keys(*, listings: Storage, listing_id: str, files: list[str] | None) -> list[str]:
    """The listing's object keys (`<listing_id>/<file>`), in import order."""
    if files is not None:
        return [f"{listing_id}/{name}" for name in dict.fromkeys(files)]
    keys = listings.list_keys(f"{listing_id}/")
    if not keys:
        raise ApiError(404, "listing_not_found", f"no objects under listing {listing_id!r}")
    return keys


def _copy(
    *, images: Storage, listings: Storage, source_key: str, dest_key: str
) -> ImportFailure | None:
    try:
        images.copy_from(listings, source_key, dest_key)
    except ObjectNotFoundError:
        return ImportFailure(source_key, "object_missing", "no such object in the listing")
    except TransientStorageError as error:
        logger.warning("listing object %s: copy failed, transient: %s", source_key, error)
        return ImportFailure(source_key, "storage_unavailable", "storage unavailable; retry")
    except StorageError as error:
        logger.error("listing object %s: copy failed: %s", source_key, error)
        return ImportFailure(source_key, "copy_failed", "the object could not be copied")
    return None


def import_listing(
    *,
    session: Session,
    images: Storage,
    listings: Storage,
    book_id: int,
    listing_id: str,
    files: list[str] | None = None,
) -> ImportOutcome:
    get_book(session=session, book_id=book_id)
    existing = set(
        session.scalars(select(BookImage.s3_key).where(BookImage.book_id == book_id)).all()
    )
    session.commit()  # no transaction is open while S3 lists and copies
    keys = listing_keys(listings=listings, listing_id=listing_id, files=files)
    outcome = ImportOutcome()
    copied: list[str] = []
    for source_key in keys:
        dest_key = f"{book_id}/{source_key.removeprefix(f'{listing_id}/')}"
        if dest_key in existing:
            outcome.failures.append(
                ImportFailure(source_key, "already_imported", "the book already has this image")
            )
            continue
        failure = _copy(images=images, listings=listings, source_key=source_key, dest_key=dest_key)
        if failure is None:
            copied.append(dest_key)
        else:
            outcome.failures.append(failure)
    if not copied:
        session.rollback()
        return outcome
    try:
        outcome.images = _add_rows(session=session, book_id=book_id, keys=copied)
        outcome.job, created = commit_job(
            session=session, book_id=book_id, image_id=outcome.images[0].id
        )
    except BaseException:
        _forget_copies(session=session, images=images, keys=copied)
        raise
    if created:
        publish_committed(session=session, job=outcome.job)
    logger.info(
        "book %s: imported %d of %d objects of listing %s; job %s",
        book_id,
        len(copied),
        len(keys),
        listing_id,
        outcome.job.id,
    )
    return outcome


def _add_rows(*, session: Session, book_id: int, keys: list[str]) -> list[BookImage]:
    """A row for each copy, under the book lock; the first is primary if the book has none."""
    lock_book(session=session, book_id=book_id)
    make_primary = not has_primary_image(session=session, book_id=book_id)
    return [
        add_image(
            session=session, book_id=book_id, s3_key=key, is_primary=make_primary and position == 0
        )
        for position, key in enumerate(keys)
    ]


def _forget_copies(*, session: Session, images: Storage, keys: list[str]) -> None:
    """The copies' rows were not committed: roll back and delete what no row points at."""
    with suppress(Exception):  # the connection may be gone; the copies must go regardless
        session.rollback()
    for key in keys:
        try:
            images.delete(key)
        except StorageError as error:
            logger.warning("copy %s has no row and could not be deleted (%s)", key, error)
