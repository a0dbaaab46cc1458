"""A worker's hold on a job: claimed, released for a retry, completed, failed, recovered."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from app.failure_reasons import FailureReason
from app.image_order import add_image
from app.job_lifecycle.common import aware, mark_failed
from app.models import ACTIVE_STATUSES, ImageProcessingJob, JobStatus, utc_now


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


def recover_job(*, job: ImageProcessingJob, max_attempts: int) -> bool:
    """processing, its worker dead (the sweep holds the row) -> pending, to be published again.

    A job already claimed `max_attempts` times is failed as worker_lost instead: it is
    probably what kills its workers. True when the job is pending again.
    """
    if job.attempt_count >= max_attempts:
        mark_failed(job, FailureReason.worker_lost)
        return False
    job.status = JobStatus.pending
    job.updated_at = utc_now()
    return True


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
        mark_failed(job, FailureReason.worker_lost)
        return Claim(ClaimOutcome.EXHAUSTED, job)
    started = aware(job.started_at) if job.started_at else now
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


def complete_job(
    *,
    session: Session,
    job_id: uuid.UUID,
    result_key: str,
    model: str,
    escalated: bool,
    brightness: float,
    background: str,
) -> int | None:
    """processing -> completed with its result image, together; None if the job is not ours.

    The result row goes at the end of the book by the one display_order rule
    (app/image_order.py), under the book lock an upload takes too.
    """
    job = session.get(ImageProcessingJob, job_id, with_for_update=True)
    if job is None or job.status != JobStatus.processing:
        return None
    result = add_image(
        session=session,
        book_id=job.book_id,
        s3_key=result_key,
        is_primary=False,
        source_image_id=job.source_image_id,
    )
    now = utc_now()
    job.status = JobStatus.completed
    job.result_image_id = result.id
    job.model_used = model
    job.escalated = escalated
    job.subject_brightness = brightness
    job.background_color = background
    job.completed_at = now
    job.updated_at = now
    return result.id


def fail_job(*, session: Session, job_id: uuid.UUID, reason: FailureReason) -> bool:
    """Any active state -> failed with `reason`; False when the job had already finished."""
    job = session.get(ImageProcessingJob, job_id, with_for_update=True)
    if job is None or job.status not in ACTIVE_STATUSES:
        return False
    mark_failed(job, reason)
    return True


def _is_free(job: ImageProcessingJob, stale_before: datetime) -> bool:
    return job.status != JobStatus.processing or (
        job.started_at is not None and aware(job.started_at) < stale_before
    )
