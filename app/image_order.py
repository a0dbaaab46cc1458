"""Where a new image goes in its book: the book-row lock and the one `display_order` rule.

Every image row is added here, whether the API stores an upload or an import, or the
worker records a processed result, so no two images of a book share a display_order.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.errors import not_found
from app.models import Book, BookImage


def lock_book(*, session: Session, book_id: int) -> Book:
    """The book row, locked until commit: image order and the primary flag change one at a time.

    Raises the API's 404 when the book is gone. (SQLite ignores FOR UPDATE; the embedded
    mode serialises writers with its database lock instead.)
    """
    book = session.scalars(select(Book).where(Book.id == book_id).with_for_update()).one_or_none()
    if book is None:
        raise not_found("book", book_id)
    return book


def next_display_order(*, session: Session, book_id: int) -> int:
    """The book's highest display_order + 1 (1 for a book without images); call it locked.

    max + 1 rather than the seed's count + 1: a count repeats an order that is still in use
    as soon as any image of the book has been deleted (images 1, 2, 3; delete 1; count + 1
    = 3 again), and it trusts every row to have been numbered by this rule. max + 1 under
    the book lock only ever grows, so it never repeats; the gaps a deletion leaves are
    harmless, since images are listed by display_order and nothing reads it as a position.
    """
    statement = select(func.coalesce(func.max(BookImage.display_order), 0)).where(
        BookImage.book_id == book_id
    )
    return int(session.scalar(statement) or 0) + 1


def add_image(
    *,
    session: Session,
    book_id: int,
    s3_key: str,
    is_primary: bool,
    source_image_id: int | None = None,
) -> BookImage:
    """A new image row at the end of the book, flushed and not committed.

    Takes the book lock itself (again, if the caller holds it: a no-op within one
    transaction), so the order is always computed under it. A primary image takes the
    flag from the book's previous primary; `source_image_id` marks a processed result.
    """
    lock_book(session=session, book_id=book_id)
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
        source_image_id=source_image_id,
    )
    session.add(image)
    session.flush()
    return image
