"""Books and their images: the services behind the book and upload routes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from contextlib import suppress

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.enqueue import queue_image_processing
from app.errors import not_found
from app.image_types import ImageType
from app.models import Book, BookImage, ImageProcessingJob
from app.storage import Storage, StorageError

logger = logging.getLogger(__name__)


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


def lock_book(*, session: Session, book_id: int) -> Book:
    """The book row, locked until commit: image order and the primary flag change one at a time."""
    book = session.scalars(select(Book).where(Book.id == book_id).with_for_update()).one_or_none()
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


def next_display_order(*, session: Session, book_id: int) -> int:
    statement = select(func.coalesce(func.max(BookImage.display_order), 0)).where(
        BookImage.book_id == book_id
    )
    return int(session.scalar(statement) or 0) + 1


def has_primary_image(*, session: Session, book_id: int) -> bool:
    statement = select(BookImage.id).where(BookImage.book_id == book_id, BookImage.is_primary)
    return session.scalars(statement.limit(1)).first() is not None


def add_image(*, session: Session, book_id: int, s3_key: str, is_primary: bool) -> BookImage:
    """A new image row at the end of the book (call with the book locked); not committed."""
    if is_primary:
        session.execute(
            update(BookImage)
            .where(BookImage.book_id == book_id, BookImage.is_primary)
            .values(is_primary=False)
        )
    image = BookImage(
        book_id=book_id,
        s3_key=s3_key,
        display_order=next_display_order(session=session, book_id=book_id),
        is_primary=is_primary,
    )
    session.add(image)
    session.flush()
    return image


def upload_image(
    *,
    session: Session,
    storage: Storage,
    book_id: int,
    data: bytes,
    image_type: ImageType,
    is_primary: bool,
) -> tuple[BookImage, ImageProcessingJob | None]:
    """Store the bytes, add the image row, and queue processing when it is the primary image."""
    get_book(session=session, book_id=book_id)  # 404 before anything is stored
    key = f"{book_id}/{uuid.uuid4().hex}{image_type.extension}"
    storage.put(key, data, content_type=image_type.content_type)
    try:
        lock_book(session=session, book_id=book_id)
        image = add_image(session=session, book_id=book_id, s3_key=key, is_primary=is_primary)
    except BaseException:
        session.rollback()
        with suppress(StorageError):
            storage.delete(key)  # no row points at it
        raise
    logger.info("book %s: image %s stored at %s", book_id, image.id, key)
    if not is_primary:
        session.commit()
        return image, None
    # The image row and its pending job are committed together.
    job = queue_image_processing(session=session, book_id=book_id, image_id=image.id)
    return image, job


def get_image(*, session: Session, book_id: int, image_id: int) -> BookImage:
    image = session.get(BookImage, image_id)
    if image is None or image.book_id != book_id:
        raise not_found("image", image_id)
    return image
