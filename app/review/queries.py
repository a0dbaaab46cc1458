"""What the review page lists: recent jobs with their book's title and both images' keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.models import Book, BookImage, ImageProcessingJob, JobStatus

# A page of jobs: each shows two images, so a longer page is a slower one to load.
MAX_JOBS = 100


@dataclass(frozen=True)
class ReviewFilters:
    failed: bool = False
    escalated: bool = False
    book_id: int | None = None
    limit: int = 30


@dataclass(frozen=True)
class ReviewRow:
    job: ImageProcessingJob
    title: str
    source_key: str
    result_key: str | None


def recent_jobs(*, session: Session, filters: ReviewFilters) -> list[ReviewRow]:
    """The newest jobs that pass the filters, newest first."""
    source, result = aliased(BookImage), aliased(BookImage)
    jobs = ImageProcessingJob
    statement = (
        select(jobs, Book.title, source.s3_key, result.s3_key)
        .join(Book, Book.id == jobs.book_id)
        .join(source, source.id == jobs.source_image_id)
        .outerjoin(result, result.id == jobs.result_image_id)
        .order_by(jobs.created_at.desc(), jobs.id)
        .limit(min(filters.limit, MAX_JOBS))
    )
    if filters.failed:
        statement = statement.where(jobs.status == JobStatus.failed)
    if filters.escalated:
        statement = statement.where(jobs.escalated.is_(True))
    if filters.book_id is not None:
        statement = statement.where(jobs.book_id == filters.book_id)
    return [
        ReviewRow(job=job, title=title, source_key=source_key, result_key=result_key)
        for job, title, source_key, result_key in session.execute(statement)
    ]
