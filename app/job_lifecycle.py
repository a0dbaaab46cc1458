"""Every state change of an image-processing job, and nowhere else (as the FastAPI template's
crud.py holds every row write).

    create_job             (none) -> pending
    record_published       pending | queue_failed -> pending, queued_at set
    record_publish_failed  pending | queue_failed -> queue_failed (publish_failed)
    allow_republish        queue_failed | pending -> failed (enqueue_attempts_exhausted) when spent
    claim_job              pending | queue_failed | stale processing -> processing
    release_job            processing -> pending, before the task retries
    recover_job            processing, its worker dead -> pending, or failed (worker_lost)
    complete_job           processing -> completed, with its result image
    fail_job               any active state -> failed, with a FailureReason

The API creates and publishes (app/enqueue.py), the worker claims, releases, completes and
fails (worker/job_runner.py), the beat sweep republishes and recovers (worker/sweeps.py); all
of them through these functions. Each takes its dependencies by keyword, changes the row and
leaves committing to the caller, so a transition and what goes with it (the result image, the
published message) share one transaction.
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached, object_session
from sqlalchemy.orm.attributes import set_committed_value

from app.failure_reasons import FailureReason
from app.image_order import add_image
from app.models import ACTIVE_STATUSES, ImageProcessingJob, JobStatus, utc_now

logger = logging.getLogger(__name__)

# The Table itself (insert() wants one; the class's __table__ is typed as any FROM clause).
_JOBS = ImageProcessingJob.metadata.tables[ImageProcessingJob.__tablename__]
# A new job, unless the image has an active one: the partial unique index (one active job per
# image) decides inside the INSERT, so there is no look first and no savepoint, and losing
# leaves the caller's transaction intact. Built once per dialect (a statement costs more CPU to
# build than to run); both dialects the project runs on support ON CONFLICT and RETURNING.
_INSERT_JOB_UNLESS_ACTIVE = {
    "postgresql": postgresql.insert(_JOBS).on_conflict_do_nothing().returning(*_JOBS.c),
    "sqlite": sqlite.insert(_JOBS).on_conflict_do_nothing().returning(*_JOBS.c),
}
# The active job that blocked an insert can finish before it is read back; then insert again.
_INSERT_ATTEMPTS = 3
# record_published's UPDATEs, prebuilt, of the columns it changes and no others: a worker may
# claim the job between its publish and this UPDATE, and the status is then the worker's. The
# ORM's flush of the same change cost a tenth of the API's CPU per enqueue (docs/performance.md).
_SET_PUBLISHED = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("job_id"))
    .values(
        enqueue_attempts=bindparam("attempts"),
        queued_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)
_SET_REPUBLISHED = _SET_PUBLISHED.values(status=JobStatus.pending, failure_reason=None)


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


def active_job(*, session: Session, image_id: int) -> ImageProcessingJob | None:
    """The image's pending, queue_failed or processing job, if it has one."""
    statement = select(ImageProcessingJob).where(
        ImageProcessingJob.source_image_id == image_id,
        ImageProcessingJob.status.in_(ACTIVE_STATUSES),
    )
    return session.scalars(statement).one_or_none()


def create_job(*, session: Session, book_id: int, image_id: int) -> tuple[ImageProcessingJob, bool]:
    """A new `pending` job for the image (True), or the active job it already has (False).

    Inserted, not committed; the caller's pending rows (an upload's image row) are flushed
    first. A concurrent request may insert first: the database's unique index decides, and
    the loser gets the winner's job.
    """
    session.flush()
    statement = _INSERT_JOB_UNLESS_ACTIVE[session.get_bind().dialect.name]
    values = {"book_id": book_id, "source_image_id": image_id, "status": JobStatus.pending}
    for _attempt in range(_INSERT_ATTEMPTS):
        row = session.execute(statement, values).one_or_none()
        if row is not None:
            # The row RETURNING gave back becomes the session's object: no second query.
            job = ImageProcessingJob(**row._mapping)
            make_transient_to_detached(job)
            session.add(job)
            return job, True
        existing = active_job(session=session, image_id=image_id)
        if existing is not None:
            logger.info("image %s: already has active job %s", image_id, existing.id)
            return existing, False
    raise RuntimeError(
        f"image {image_id}: a job insert conflicted {_INSERT_ATTEMPTS} times "
        "without an active job to return"
    )


def record_published(*, job: ImageProcessingJob) -> None:
    """The broker took the job's message: the attempt counted, `queued_at` set, and a
    queue_failed job pending again with its publish_failed reason cleared.

    Written at once, in the job's session's transaction (see _SET_PUBLISHED).
    """
    now = utc_now()
    changes: dict[str, object] = {
        "enqueue_attempts": (job.enqueue_attempts or 0) + 1,
        "queued_at": now,
        "updated_at": now,  # the sweep serves its batches oldest update first
    }
    statement = _SET_PUBLISHED
    if job.status == JobStatus.queue_failed:
        changes |= {"status": JobStatus.pending, "failure_reason": None}
        statement = _SET_REPUBLISHED
    session = object_session(job)
    if session is None:
        raise ValueError(f"job {job.id}: record_published needs the job in a session")
    session.execute(
        statement, {"job_id": job.id, "attempts": changes["enqueue_attempts"], "now": now}
    )
    for key, value in changes.items():
        set_committed_value(job, key, value)  # the row says so now; a rollback expires it


def record_publish_failed(*, job: ImageProcessingJob) -> None:
    """The broker refused the message: the attempt counted, the job `queue_failed` for the
    sweep (why it refused is in the publisher's log line, not in the reason)."""
    job.enqueue_attempts = (job.enqueue_attempts or 0) + 1
    job.status = JobStatus.queue_failed
    job.failure_reason = FailureReason.publish_failed.value
    job.updated_at = utc_now()


def allow_republish(*, job: ImageProcessingJob, max_attempts: int) -> bool:
    """May the sweep publish this job (its row held) once more? Once it has been published
    `max_attempts` times in vain it is failed as enqueue_attempts_exhausted instead."""
    if job.enqueue_attempts >= max_attempts:
        _mark_failed(job, FailureReason.enqueue_attempts_exhausted)
        return False
    return True


def recover_job(*, job: ImageProcessingJob, max_attempts: int) -> bool:
    """processing, its worker dead (the sweep holds the row) -> pending, to be published again.

    A job already claimed `max_attempts` times is failed as worker_lost instead: it is
    probably what kills its workers. True when the job is pending again.
    """
    if job.attempt_count >= max_attempts:
        _mark_failed(job, FailureReason.worker_lost)
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
        _mark_failed(job, FailureReason.worker_lost)
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
    _mark_failed(job, reason)
    return True


def _mark_failed(job: ImageProcessingJob, reason: FailureReason) -> None:
    """-> failed with a named reason; the caller holds the row."""
    now = utc_now()
    job.status = JobStatus.failed
    job.failure_reason = reason.value  # the column is a plain string: store the value itself
    job.completed_at = now
    job.updated_at = now


def _is_free(job: ImageProcessingJob, stale_before: datetime) -> bool:
    return job.status != JobStatus.processing or (
        job.started_at is not None and _aware(job.started_at) < stale_before
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utc_now().tzinfo)
