"""Queueing background removal: a committed `pending` job, then a process_image message.

When publishing fails the job becomes `queue_failed` (the beat sweep publishes it
again) and the caller's request still succeeds. The job's states change only through
app/job_lifecycle.py; this module owns the talking to the broker.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.celery_client import send_process_image
from app.job_lifecycle import create_job, record_publish_failed, record_published
from app.models import ImageProcessingJob
from app.processing_overrides import ProcessingOverrides

logger = logging.getLogger(__name__)


def queue_image_processing(
    *,
    session: Session,
    book_id: int,
    image_id: int,
    overrides: ProcessingOverrides | None = None,
) -> ImageProcessingJob:
    """Insert a `pending` job (recording `overrides`), commit, publish it; the image's active
    job if it already has one (whatever that one recorded: the caller compares).

    Commits the session (with whatever the caller added before, such as the image row).
    """
    job, created = commit_job(
        session=session, book_id=book_id, image_id=image_id, overrides=overrides
    )
    if created:
        publish_committed(session=session, job=job)
    return job


def commit_job(
    *,
    session: Session,
    book_id: int,
    image_id: int,
    overrides: ProcessingOverrides | None = None,
) -> tuple[ImageProcessingJob, bool]:
    """queue_image_processing's first half: the job inserted and committed with whatever the
    session holds (True), or the image's active job (False). Nothing is published yet."""
    job, created = create_job(
        session=session, book_id=book_id, image_id=image_id, overrides=overrides
    )
    # Committed before publishing: a worker that gets the message at once must find the row.
    session.commit()
    return job, created


def publish_committed(*, session: Session, job: ImageProcessingJob) -> None:
    """queue_image_processing's second half: publish the committed job, then record the
    attempt (no transaction is open while the broker is called)."""
    publish_job(job)
    session.commit()


def publish_job(job: ImageProcessingJob) -> bool:
    """Publish process_image for `job`; True when the broker took it.

    The attempt is recorded either way (app/job_lifecycle.py: queued_at on success,
    queue_failed on failure). The caller owns the transaction and commits; it has none open
    while the broker is called (the job was committed first).
    """
    try:
        send_process_image(job_id=job.id, book_id=job.book_id, image_id=job.source_image_id)
    except Exception as error:  # any broker failure: the job is kept for the sweep
        record_publish_failed(job=job)
        # The reason says only publish_failed; what the broker said is here, with the traceback.
        logger.exception(
            "job %s: publishing process_image failed (attempt %d, %s); marked queue_failed",
            job.id,
            job.enqueue_attempts,
            type(error).__name__,
        )
        return False
    record_published(job=job)
    return True


@dataclass(frozen=True)
class JobMessage:
    """What a process_image message carries: the job and its image."""

    job_id: uuid.UUID
    book_id: int
    image_id: int


@dataclass
class PublishOutcome:
    published: list[uuid.UUID] = field(default_factory=list)
    refused: list[uuid.UUID] = field(default_factory=list)
    untried: list[uuid.UUID] = field(default_factory=list)


def publish_messages(messages: Sequence[JobMessage]) -> PublishOutcome:
    """Publish each message, with no transaction open (the caller records the outcome); after
    the first the broker refuses, the rest are not tried: it is down, and each try would wait
    out the timeouts again."""
    outcome = PublishOutcome()
    for message in messages:
        if outcome.refused:
            outcome.untried.append(message.job_id)
            continue
        try:
            send_process_image(
                job_id=message.job_id, book_id=message.book_id, image_id=message.image_id
            )
        except Exception as error:  # any broker failure: the job is kept for the next sweep
            outcome.refused.append(message.job_id)
            logger.exception(
                "job %s: publishing process_image failed (%s); %d more not tried",
                message.job_id,
                type(error).__name__,
                len(messages) - len(outcome.published) - 1,
            )
        else:
            outcome.published.append(message.job_id)
    return outcome
