"""A job's way onto the queue: created, published, refused by the broker, republished."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached, object_session
from sqlalchemy.orm.attributes import set_committed_value

from app.failure_reasons import FailureReason
from app.job_lifecycle.common import aware, mark_failed
from app.models import ACTIVE_STATUSES, ImageProcessingJob, JobStatus, utc_now
from app.processing_overrides import ProcessingOverrides

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
        publish_failing_since=None,
        updated_at=bindparam("now"),
    )
)
_SET_REPUBLISHED = _SET_PUBLISHED.values(status=JobStatus.pending, failure_reason=None)


def active_job(*, session: Session, image_id: int) -> ImageProcessingJob | None:
    """The image's pending, queue_failed or processing job, if it has one."""
    statement = select(ImageProcessingJob).where(
        ImageProcessingJob.source_image_id == image_id,
        ImageProcessingJob.status.in_(ACTIVE_STATUSES),
    )
    return session.scalars(statement).one_or_none()


def create_job(
    *,
    session: Session,
    book_id: int,
    image_id: int,
    overrides: ProcessingOverrides | None = None,
) -> tuple[ImageProcessingJob, bool]:
    """A new `pending` job for the image (True), or the active job it already has (False).

    The new job records `overrides`; the active job keeps what it recorded (the caller compares).
    Inserted, not committed; the caller's pending rows (an upload's image row) are flushed
    first. A concurrent request may insert first: the database's unique index decides, and
    the loser gets the winner's job.
    """
    session.flush()
    statement = _INSERT_JOB_UNLESS_ACTIVE[session.get_bind().dialect.name]
    chosen = overrides or ProcessingOverrides()
    values = {
        "book_id": book_id,
        "source_image_id": image_id,
        "status": JobStatus.pending,
        "requested_model_chain": list(chosen.model_chain) if chosen.model_chain else None,
        "requested_backdrop": chosen.backdrop,
    }
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
        "publish_failing_since": None,
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
    now = utc_now()
    job.enqueue_attempts = (job.enqueue_attempts or 0) + 1
    job.status = JobStatus.queue_failed
    job.failure_reason = FailureReason.publish_failed.value
    job.publish_failing_since = job.publish_failing_since or now
    job.updated_at = now


def allow_republish(*, job: ImageProcessingJob, budget: timedelta) -> bool:
    """May the sweep publish this job (its row held) once more? Once the broker has refused it
    for the whole retry budget it is failed as enqueue_attempts_exhausted instead."""
    since = job.publish_failing_since
    if since is not None and aware(since) < utc_now() - budget:
        mark_failed(job, FailureReason.enqueue_attempts_exhausted)
        return False
    return True


def reserve_for_publish(*, job: ImageProcessingJob) -> None:
    """queue_failed or pending (the sweep holds the row) -> pending, touched now: the sweep
    commits this, then publishes with no lock held. Nothing else picks the job meanwhile: it is
    not queue_failed, and a pending job touched just now is not stale. If the sweep dies before
    recording the outcome, the job goes stale and a later sweep publishes it."""
    job.status = JobStatus.pending
    job.updated_at = utc_now()


def record_publish_outcomes(
    *,
    session: Session,
    published: Sequence[uuid.UUID],
    refused: Sequence[uuid.UUID],
    untried: Sequence[uuid.UUID],
) -> None:
    """After the sweep's publishing: the jobs the broker took are queued; the ones it refused
    (an attempt counted) or that were not tried once it had refused one are queue_failed again,
    unless a worker has claimed them meanwhile."""
    now = utc_now()
    jobs = ImageProcessingJob
    if published:
        session.execute(
            update(jobs)
            .where(jobs.id.in_(published))
            .values(
                enqueue_attempts=jobs.enqueue_attempts + 1,
                queued_at=now,
                publish_failing_since=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    for ids, attempted in ((refused, 1), (untried, 0)):
        if ids:
            session.execute(
                update(jobs)
                .where(jobs.id.in_(ids), jobs.status == JobStatus.pending)
                .values(
                    status=JobStatus.queue_failed,
                    failure_reason=FailureReason.publish_failed.value,
                    enqueue_attempts=jobs.enqueue_attempts + attempted,
                    publish_failing_since=func.coalesce(jobs.publish_failing_since, now),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
