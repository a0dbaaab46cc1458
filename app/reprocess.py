"""Processing one image again, as the operator chooses: the API's route and the review page's
re-run button both come here.

An image has at most one active job. A request with no overrides gets that job, as it always
has; a request whose overrides are what the active job recorded gets it too (a retried request
is not an error). A request whose overrides differ gets 409 `active_job_differs`: returning the
active job would tell the operator their choice was taken when it was not, and a second job
cannot exist beside it. They re-run once the active job has finished.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.catalog import require_image
from app.enqueue import queue_image_processing
from app.errors import ApiError
from app.models import ImageProcessingJob
from app.processing_overrides import (
    BACKDROPS,
    OverrideError,
    ProcessingOverrides,
    checked_model_chain,
)
from app.settings import Settings


def requested_overrides(
    *, model_chain: Sequence[str] | None, backdrop: str | None, settings: Settings
) -> ProcessingOverrides:
    """A request's overrides, checked; 422 with a named reason for what the fleet cannot do."""
    try:
        chain = (
            None
            if model_chain is None
            else checked_model_chain(model_chain, available=settings.model_chain)
        )
    except OverrideError as error:
        raise ApiError(422, error.code, error.message) from None
    if backdrop not in (None, "auto", *BACKDROPS):
        raise ApiError(
            422, "unknown_backdrop", f"backdrop must be black, white or auto, not {backdrop!r}"
        )
    return ProcessingOverrides(chain, None if backdrop in (None, "auto") else backdrop)  # type: ignore[arg-type]


def reprocess_image(
    *, session: Session, book_id: int, image_id: int, overrides: ProcessingOverrides
) -> ImageProcessingJob:
    """A new job for the image with `overrides`, or its active job (see the module's rules)."""
    require_image(session=session, book_id=book_id, image_id=image_id)
    job = queue_image_processing(
        session=session,
        book_id=book_id,
        image_id=image_id,
        overrides=None if overrides.is_default else overrides,
    )
    recorded = ProcessingOverrides.of_job(job.requested_model_chain, job.requested_backdrop)
    if not overrides.is_default and recorded != overrides:
        raise ApiError(
            409,
            "active_job_differs",
            f"image {image_id} already has active job {job.id} ({describe(recorded)}); "
            "re-run it once that job has finished",
        )
    return job


def describe(overrides: ProcessingOverrides) -> str:
    """For messages and the review page: what a job was asked to do."""
    chain = ", ".join(overrides.model_chain) if overrides.model_chain else "MODEL_CHAIN"
    return f"models {chain}; backdrop {overrides.backdrop or 'by brightness'}"
