"""Queueing background removal: a committed `pending` job, then a process_image message.

When publishing fails the job becomes `queue_failed` (the beat sweep publishes it
again) and the caller's request still succeeds.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.celery_client import send_process_image
from app.models import ACTIVE_STATUSES, ImageProcessingJob, JobStatus, utc_now

logger = logging.getLogger(__name__)


def active_job(*, session: Session, image_id: int) -> ImageProcessingJob | None:
    """The image's pending, queue_failed or processing job, if it has one."""
    statement = select(ImageProcessingJob).where(
        ImageProcessingJob.source_image_id == image_id,
        ImageProcessingJob.status.in_(ACTIVE_STATUSES),
    )
    return session.scalars(statement).one_or_none()


def queue_image_processing(*, session: Session, book_id: int, image_id: int) -> ImageProcessingJob:
    """Insert a `pending` job, commit, publish it; the image's active job if it already has one.

    Commits the session (with whatever the caller added before, such as the image row).
    """
    existing = active_job(session=session, image_id=image_id)
    if existing is not None:
        logger.info("image %s: already has active job %s", image_id, existing.id)
        return existing
    job = ImageProcessingJob(book_id=book_id, source_image_id=image_id, status=JobStatus.pending)
    try:
        # A savepoint: losing the race to a concurrent request must not undo the caller's rows.
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        existing = active_job(session=session, image_id=image_id)
        if existing is None:
            raise
        logger.info("image %s: concurrent request created job %s", image_id, existing.id)
        session.commit()
        return existing
    session.commit()
    publish_job(job)
    session.commit()
    return job


def publish_job(job: ImageProcessingJob) -> bool:
    """Publish process_image for `job`; True when the broker took it.

    Counts the attempt, and sets `queued_at` on success or `queue_failed` on
    failure. The caller owns the transaction and commits (the beat sweep calls
    this with the row locked).
    """
    job.enqueue_attempts = (job.enqueue_attempts or 0) + 1
    try:
        send_process_image(job_id=job.id, book_id=job.book_id, image_id=job.source_image_id)
    except Exception as error:  # any broker failure: the job is kept for the sweep
        logger.exception(
            "job %s: publishing process_image failed (attempt %d); marked queue_failed",
            job.id,
            job.enqueue_attempts,
        )
        job.status = JobStatus.queue_failed
        job.failure_reason = f"publish_failed: {type(error).__name__}"
        return False
    job.queued_at = utc_now()
    if job.status == JobStatus.queue_failed:
        job.status = JobStatus.pending
        job.failure_reason = None
    return True
