"""Images of a book: upload one (primary uploads queue processing), re-queue processing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from app.api.deps import ApiKeyRequired, BookId, ImageId, SessionDep, SettingsDep, StorageDep
from app.api.schemas import JobOut, UploadResult
from app.api.serialize import image_out, job_out
from app.catalog import get_book, get_image, upload_image
from app.enqueue import queue_image_processing
from app.errors import ApiError, error_responses
from app.image_types import ACCEPTED_TYPES, sniff_image_type

router = APIRouter(prefix="/books/{book_id}/images", tags=["images"])

_ACCEPTED = ", ".join(image_type.name.upper() for image_type in ACCEPTED_TYPES)


def read_upload(file: UploadFile, *, max_bytes: int) -> bytes:
    """The upload's bytes; 413 past the limit (read no further than one byte beyond it)."""
    data = file.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(413, "payload_too_large", f"the image is larger than {max_bytes} bytes")
    return data


@router.post(
    "",
    status_code=201,
    dependencies=[ApiKeyRequired],
    responses=error_responses(400, 401, 404, 413, 415, 422, 503),
)
def upload(
    book_id: BookId,
    file: Annotated[UploadFile, File(description=f"The image: {_ACCEPTED}")],
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    is_primary: Annotated[bool, Form(description="Primary images are processed")] = False,
) -> UploadResult:
    data = read_upload(file, max_bytes=settings.max_upload_bytes)
    image_type = sniff_image_type(data)
    if image_type is None:
        raise ApiError(415, "unsupported_media_type", f"the file is not an image ({_ACCEPTED})")
    image, job = upload_image(
        session=session,
        storage=storage,
        book_id=book_id,
        data=data,
        image_type=image_type,
        is_primary=is_primary,
    )
    return UploadResult(image=image_out(image, settings=settings), job=job_out(job))


@router.post(
    "/{image_id}/process",
    status_code=202,
    dependencies=[ApiKeyRequired],
    responses=error_responses(401, 404, 422),
)
def process(book_id: BookId, image_id: ImageId, session: SessionDep) -> JobOut:
    """Queue background removal of the image; its active job when it already has one."""
    get_book(session=session, book_id=book_id)
    get_image(session=session, book_id=book_id, image_id=image_id)
    job = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    return JobOut.model_validate(job)
