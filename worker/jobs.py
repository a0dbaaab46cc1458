"""A job's transitions on the worker side, each one short transaction.

claim (pending|queue_failed|stale processing -> processing), release (back to
pending before a retry), fail (-> failed with a reason), complete (result row +
completed, in one transaction). Every function takes the session by keyword and
leaves committing to `session_scope`.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.models import (
    ACTIVE_STATUSES,
    Book,
    BookImage,
    ImageProcessingJob,
    JobStatus,
    utc_now,
)


class ClaimOutcome(enum.Enum):
    CLAIMED = "claimed"
    FINISHED = "finished"  # completed or failed already: SQS delivered a duplicate
    BUSY = "busy"  # another worker holds it, and may still be running it
    MISSING = "missing"  # the job row is gone
    EXHAUSTED = "exhausted"  # claimed too often without finishing: failed as worker_lost


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    job: ImageProcessingJob | None = None
    # For BUSY: seconds until the holder's claim is stale (its hard time limit passed).
    retry_in: float = 0.0


def claim_job(
    *, session: Session, job_id: uuid.UUID, stale_after: timedelta, max_attempts: int
) -> Claim:
    """Take the job atomically; a `processing` job counts as free once `stale_after` has passed.

    `stale_after` is the hard time limit: a claim older than that belongs to a
    worker that was killed, since a live one would have been stopped by now.
    """
    now = utc_now()
    claimed = session.execute(
        update(ImageProcessingJob)
        .where(
            ImageProcessingJob.id == job_id,
            ImageProcessingJob.attempt_count < max_attempts,
            or_(
                ImageProcessingJob.status.in_([JobStatus.pending, JobStatus.queue_failed]),
                (ImageProcessingJob.status == JobStatus.processing)
                & (ImageProcessingJob.started_at < now - stale_after),
            ),
        )
        .values(
            status=JobStatus.processing,
            started_at=now,
            attempt_count=ImageProcessingJob.attempt_count + 1,
            failure_reason=None,
            updated_at=now,
        )
        .returning(ImageProcessingJob.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    job = session.get(ImageProcessingJob, job_id, populate_existing=True)
    if claimed is not None and job is not None:
        return Claim(ClaimOutcome.CLAIMED, job)
    if job is None:
        return Claim(ClaimOutcome.MISSING)
    if job.status not in ACTIVE_STATUSES:
        return Claim(ClaimOutcome.FINISHED, job)
    if job.attempt_count >= max_attempts and _is_free(job, now - stale_after):
        mark_failed(job, "worker_lost", now)
        return Claim(ClaimOutcome.EXHAUSTED, job)
    started = _aware(job.started_at) if job.started_at else now
    return Claim(
        ClaimOutcome.BUSY, job, max(1.0, (started + stale_after - now).total_seconds() + 1)
    )


def release_job(*, session: Session, job_id: uuid.UUID) -> None:
    """processing -> pending, undoing the claim, so the retry of this message can claim it again.

    The attempt is not counted: it ended cleanly, unlike a worker that died holding it.
    """
    session.execute(
        update(ImageProcessingJob)
        .where(ImageProcessingJob.id == job_id, ImageProcessingJob.status == JobStatus.processing)
        .values(
            status=JobStatus.pending,
            attempt_count=ImageProcessingJob.attempt_count - 1,
            updated_at=utc_now(),
        )
        .execution_options(synchronize_session=False)
    )


def fail_job(*, session: Session, job_id: uuid.UUID, reason: str) -> bool:
    """Any active state -> failed with `reason`; False when the job had already finished."""
    job = session.get(ImageProcessingJob, job_id, with_for_update=True)
    if job is None or job.status not in ACTIVE_STATUSES:
        return False
    mark_failed(job, reason, utc_now())
    return True


def complete_job(
    *,
    session: Session,
    job_id: uuid.UUID,
    result_key: str,
    model: str,
    brightness: float,
    background: str,
) -> int | None:
    """Add the result image and mark the job completed, together; None if the job is not ours.

    The book row is locked so two results of one book never take the same display_order.
    """
    job = session.get(ImageProcessingJob, job_id, with_for_update=True)
    if job is None or job.status != JobStatus.processing:
        return None
    session.execute(select(Book.id).where(Book.id == job.book_id).with_for_update())
    count = session.scalar(
        select(func.count()).select_from(BookImage).where(BookImage.book_id == job.book_id)
    )
    result = BookImage(
        book_id=job.book_id,
        s3_key=result_key,
        display_order=int(count or 0) + 1,
        is_primary=False,
        source_image_id=job.source_image_id,
    )
    session.add(result)
    session.flush()
    now = utc_now()
    job.status = JobStatus.completed
    job.result_image_id = result.id
    job.model_used = model
    job.subject_brightness = brightness
    job.background_color = background
    job.completed_at = now
    job.updated_at = now
    return result.id


def mark_failed(job: ImageProcessingJob, reason: str, now: datetime) -> None:
    """Failed with a named reason; the caller holds the row."""
    job.status = JobStatus.failed
    job.failure_reason = reason
    job.completed_at = now
    job.updated_at = now


def _is_free(job: ImageProcessingJob, stale_before: datetime) -> bool:
    return job.status != JobStatus.processing or (
        job.started_at is not None and _aware(job.started_at) < stale_before
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utc_now().tzinfo)
