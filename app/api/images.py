"""Images of a book: upload one (primary uploads queue processing), re-queue processing.

Both routes enqueue, so both are on the hot path. Each is `async def` and hands all of its
blocking work (the upload's file, S3, the database, the broker) to a thread at once: a plain
`def` route takes two hand-overs (the route, then the check of its response), and under load
each costs CPU (docs/performance.md, "Load"). Uploads run on threads of their own, a bounded
number (app/api/admission.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, File, Form, UploadFile
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.admission import run_upload
from app.api.deps import ApiKeyRequired, BookId, ImageId, SessionDep, SettingsDep, StorageDep
from app.api.schemas import JobOut, ProcessRequest, UploadResult
from app.api.serialize import image_out, job_out
from app.catalog import upload_image
from app.db import get_sessionmaker
from app.errors import ApiError, error_responses
from app.handoff import Handoff
from app.image_types import ACCEPTED_TYPES, sniff_image_type
from app.reprocess import reprocess_image, requested_overrides
from app.settings import Settings
from app.storage import Storage

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
async def upload(
    book_id: BookId,
    file: Annotated[UploadFile, File(description=f"The image: {_ACCEPTED}")],
    storage: StorageDep,
    settings: SettingsDep,
    is_primary: Annotated[bool, Form(description="Primary images are processed")] = False,
) -> UploadResult:
    return await run_upload(
        _upload,
        book_id=book_id,
        file=file,
        storage=storage,
        settings=settings,
        is_primary=is_primary,
    )


def _upload(
    *,
    book_id: int,
    file: UploadFile,
    storage: Storage,
    settings: Settings,
    is_primary: bool,
    handoff: Handoff,
) -> UploadResult:
    """The upload on its own thread, with a session of its own: the request may give up on
    the thread and end, closing what it owns, while the thread still waits on S3."""
    handoff.waiting_on("the upload's file")  # read once admitted: the file is the request's
    data = read_upload(file, max_bytes=settings.max_upload_bytes)
    image_type = sniff_image_type(data)
    if image_type is None:
        raise ApiError(415, "unsupported_media_type", f"the file is not an image ({_ACCEPTED})")
    with get_sessionmaker()() as session:
        image, job = upload_image(
            session=session,
            storage=storage,
            book_id=book_id,
            data=data,
            image_type=image_type,
            is_primary=is_primary,
            handoff=handoff,
        )
        return UploadResult(image=image_out(image, settings=settings), job=job_out(job))


@router.post(
    "/{image_id}/process",
    status_code=202,
    dependencies=[ApiKeyRequired],
    responses=error_responses(400, 401, 404, 409, 422),
)
async def process(
    book_id: BookId,
    image_id: ImageId,
    session: SessionDep,
    settings: SettingsDep,
    overrides: Annotated[ProcessRequest | None, Body()] = None,
) -> JobOut:
    """Queue background removal of the image, with the operator's overrides if any; its active
    job when it already has one, and 409 active_job_differs when that one was asked for other
    overrides (app/reprocess.py)."""
    return await run_in_threadpool(
        _process,
        session=session,
        settings=settings,
        book_id=book_id,
        image_id=image_id,
        request=overrides or ProcessRequest(),
    )


def _process(
    *, session: Session, settings: Settings, book_id: int, image_id: int, request: ProcessRequest
) -> JobOut:
    overrides = requested_overrides(
        model_chain=request.model_chain, backdrop=request.backdrop, settings=settings
    )
    job = reprocess_image(session=session, book_id=book_id, image_id=image_id, overrides=overrides)
    return JobOut.model_validate(job)
