"""Processing jobs: read one, list a book's."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from app.api.deps import BookId, SessionDep
from app.api.schemas import JobList, JobOut
from app.catalog import get_book
from app.errors import error_responses, not_found
from app.models import ImageProcessingJob, JobStatus

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", responses=error_responses(404, 422))
def read(job_id: uuid.UUID, session: SessionDep) -> JobOut:
    job = session.get(ImageProcessingJob, job_id)
    if job is None:
        raise not_found("job", job_id)
    return JobOut.model_validate(job)


@router.get("/books/{book_id}/jobs", responses=error_responses(404, 422))
def list_for_book(
    book_id: BookId,
    session: SessionDep,
    status: Annotated[JobStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobList:
    """The book's jobs, newest first."""
    get_book(session=session, book_id=book_id)
    condition = [ImageProcessingJob.book_id == book_id]
    if status is not None:
        condition.append(ImageProcessingJob.status == status)
    total = session.scalar(select(func.count()).select_from(ImageProcessingJob).where(*condition))
    statement = (
        select(ImageProcessingJob)
        .where(*condition)
        .order_by(ImageProcessingJob.created_at.desc(), ImageProcessingJob.id)
        .limit(limit)
        .offset(offset)
    )
    items = [JobOut.model_validate(job) for job in session.scalars(statement)]
    return JobList(items=items, total=int(total or 0))
