"""Books: create one, read one with its images."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ApiKeyRequired, BookId, SessionDep, SettingsDep
from app.api.schemas import BookCreate, BookOut
from app.api.serialize import book_out
from app.catalog import book_images, create_book, get_book
from app.errors import error_responses

router = APIRouter(prefix="/books", tags=["books"])


@router.post(
    "",
    status_code=201,
    dependencies=[ApiKeyRequired],
    responses=error_responses(400, 401, 422),
)
def create(body: BookCreate, session: SessionDep, settings: SettingsDep) -> BookOut:
    book = create_book(session=session, title=body.title)
    return book_out(book, images=[], settings=settings)


@router.get("/{book_id}", responses=error_responses(404, 422))
def read(book_id: BookId, session: SessionDep, settings: SettingsDep) -> BookOut:
    book = get_book(session=session, book_id=book_id)
    images = book_images(session=session, book_id=book_id)
    return book_out(book, images=images, settings=settings)
