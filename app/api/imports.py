"""Listing imports: copy a listing's objects into a book and queue the first one."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import (
    ApiKeyRequired,
    BookId,
    ListingsStorageDep,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from app.api.schemas import ImportFailure, ImportRequest, ImportResult
from app.api.serialize import image_out, job_out
from app.errors import error_responses
from app.listing_import import import_listing

router = APIRouter(prefix="/books/{book_id}/imports", tags=["images"])


@router.post(
    "",
    dependencies=[ApiKeyRequired],
    responses=error_responses(400, 401, 404, 422, 503),
)
def create(
    book_id: BookId,
    body: ImportRequest,
    session: SessionDep,
    images: StorageDep,
    listings: ListingsStorageDep,
    settings: SettingsDep,
) -> ImportResult:
    """Copy `listings/<listing_id>/…` to the book; per-object failures are reported, not fatal."""
    outcome = import_listing(
        session=session,
        images=images,
        listings=listings,
        book_id=book_id,
        listing_id=body.listing_id,
        files=body.files,
    )
    return ImportResult(
        images=[image_out(image, settings=settings) for image in outcome.images],
        failures=[
            ImportFailure(key=failure.key, code=failure.code, message=failure.message)
            for failure in outcome.failures
        ],
        job=job_out(outcome.job),
    )
