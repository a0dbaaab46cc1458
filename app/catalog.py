"""Books and their images: the services behind the book and upload routes.

New image rows, their display_order and the book lock come from app/image_order.py, the
one place the worker's results take them from too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from contextlib import suppress

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.enqueue import commit_job, publish_committed
from app.errors import not_found
from app.handoff import Handoff
from app.image_order import add_image
from app.image_types import ImageType
from app.models import Book, BookImage, ImageProcessingJob
from app.storage import Storage, StorageError

logger = logging.getLogger(__name__)

_BOOKS, _IMAGES = Book.__table__, BookImage.__table__
# The book, and the image if it is one of the book's: both 404s of an enqueue in one round
# trip. Built once: building a statement costs more CPU than running a cached one.
_BOOK_AND_IMAGE = (
    select(_BOOKS.c.id.label("book_id"), _IMAGES.c.id.label("image_id"))
    .outerjoin(
        _IMAGES,
        (_IMAGES.c.id == bindparam("image_id")) & (_IMAGES.c.book_id == _BOOKS.c.id),
    )
    .where(_BOOKS.c.id == bindparam("book_id"))
)


def create_book(*, session: Session, title: str) -> Book:
    book = Book(title=title.strip())
    session.add(book)
    session.commit()
    logger.info("book %s: created", book.id)
    return book


def get_book(*, session: Session, book_id: int) -> Book:
    book = session.get(Book, book_id)
    if book is None:
        raise not_found("book", book_id)
    return book


def book_images(*, session: Session, book_id: int) -> Sequence[BookImage]:
    statement = (
        select(BookImage)
        .where(BookImage.book_id == book_id)
        .order_by(BookImage.display_order, BookImage.id)
    )
    return session.scalars(statement).all()


def has_primary_image(*, session: Session, book_id: int) -> bool:
    statement = select(BookImage.id).where(BookImage.book_id == book_id, BookImage.is_primary)
    return session.scalars(statement.limit(1)).first() is not None


def upload_image(
    *,
    session: Session,
    storage: Storage,
    book_id: int,
    data: bytes,
    image_type: ImageType,
    is_primary: bool,
    handoff: Handoff | None = None,
) -> tuple[BookImage, ImageProcessingJob | None]:
    """Store the bytes, add the image row, and queue processing when it is the primary image.

    No transaction is open while S3 or SQS is called: the book is looked up and that read
    ended before the upload, so a hung S3 holds no pooled connection. Until the image row
    (and a primary image's job) is committed, any failure deletes the object again; past the
    commit the row owns it. What a process that died in between leaves, the orphan sweep
    removes a day later (worker/orphans.py).

    With a `handoff`, the request waiting may give up while the book is read or the object
    stored; the upload then stops there and leaves nothing (app/handoff.py).
    """
    handoff = handoff or Handoff()
    handoff.waiting_on("database")
    get_book(session=session, book_id=book_id)  # 404 before anything is stored
    session.commit()  # the read's transaction ends here: none is open across the upload
    key = f"{book_id}/{uuid.uuid4().hex}{image_type.extension}"
    handoff.waiting_on("storage")
    storage.put(key, data, content_type=image_type.content_type)
    try:
        handoff.point_of_no_return("database")
        image = add_image(session=session, book_id=book_id, s3_key=key, is_primary=is_primary)
        if is_primary:
            # The image row and its pending job are committed together.
            job, created = commit_job(session=session, book_id=book_id, image_id=image.id)
        else:
            session.commit()
    except BaseException:
        _forget_object(session=session, storage=storage, key=key)
        raise
    logger.info("book %s: image %s stored at %s", book_id, image.id, key)
    if not is_primary:
        return image, None
    if created:
        publish_committed(session=session, job=job)
    return image, job


def _forget_object(*, session: Session, storage: Storage, key: str) -> None:
    """The upload's rows were not committed: roll back and delete the object no row points at."""
    with suppress(Exception):  # the connection may be gone; the object must go regardless
        session.rollback()
    try:
        storage.delete(key)
    except StorageError as error:
        logger.warning("object %s has no row and could not be deleted (%s)", key, error)


def require_image(*, session: Session, book_id: int, image_id: int) -> None:
    """404 unless the book exists (book_not_found) and the image is one of its images
    (image_not_found), in one query that loads no rows into the session."""
    row = session.execute(_BOOK_AND_IMAGE, {"book_id": book_id, "image_id": image_id}).first()
    if row is None:
        raise not_found("book", book_id)
    if row.image_id is None:
        raise not_found("image", image_id)
