"""The beat sweep: jobs that never reached the queue, lost their message, or lost their worker.

One pass, in three steps, so that no row lock and no transaction is held while the broker is
called (a hung SQS would otherwise hold them for as long as it hangs):

1. in one short transaction, claim a bounded batch of each kind under `FOR UPDATE SKIP LOCKED`,
   fail those past their budget, and move the rest out of the state that selected them
   (`reserve_for_publish`), so a second beat running at once never picks one of them;
2. publish them, with no transaction open, stopping at the first the broker refuses;
3. in a second transaction, record what happened: queued, or queue_failed for the next sweep.

If beat dies between 1 and 3 its reserved jobs are pending and untouched, and a later sweep
finds them stale. This module chooses the jobs; how their state changes is app/job_lifecycle.py's
and how they are published app/enqueue.py's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.db import session_scope
from app.enqueue import JobMessage, publish_messages
from app.job_lifecycle import (
    allow_republish,
    record_publish_outcomes,
    recover_job,
    reserve_for_publish,
)
from app.models import ImageProcessingJob, JobStatus, utc_now
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    republished: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    publish_errors: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "republished": len(self.republished),
            "recovered": len(self.recovered),
            "failed": len(self.failed),
            "publish_errors": self.publish_errors,
        }


def sweep_jobs(
    *, settings: Settings, queue_is_empty: bool | None, recover_dead_workers: bool = True
) -> SweepReport:
    """One pass. `queue_is_empty` (SQS shows no visible message) gates the stale-pending part:
    while a backlog is draining, a long-pending job's message is most likely still queued.
    `recover_dead_workers` gates the recovery of jobs whose worker died (see DatabaseWatch).
    """
    report = SweepReport()
    with session_scope() as session:
        due = _reserve(
            session,
            settings,
            queue_is_empty=bool(queue_is_empty),
            recover_dead_workers=recover_dead_workers,
            report=report,
        )
    outcome = publish_messages(due)
    report.publish_errors = len(outcome.refused)
    report.republished = [
        str(job_id) for job_id in outcome.published if str(job_id) not in report.recovered
    ]
    if due:
        with session_scope() as session:
            record_publish_outcomes(
                session=session,
                published=outcome.published,
                refused=outcome.refused,
                untried=outcome.untried,
            )
    log.info("sweep done", extra=report.as_dict())
    return report


def _reserve(
    session: Session,
    settings: Settings,
    *,
    queue_is_empty: bool,
    recover_dead_workers: bool,
    report: SweepReport,
) -> list[JobMessage]:
    """Step 1: the batch to publish, each job moved out of the state that selected it."""
    now = utc_now()
    budget = timedelta(seconds=settings.retry_budget_seconds)
    due: list[JobMessage] = []
    for job in session.scalars(_batch(settings, JobStatus.queue_failed)):
        if allow_republish(job=job, budget=budget):
            due.append(_reserved(job))
        else:
            _report_failed(job, report)
    if queue_is_empty:
        stale = now - timedelta(seconds=settings.stale_pending_after_seconds)
        query = _batch(settings, JobStatus.pending).where(ImageProcessingJob.updated_at < stale)
        due += [_reserved(job) for job in session.scalars(query)]
    if not recover_dead_workers:
        return due
    for job in session.scalars(_dead_workers(settings, now)):
        if recover_job(job=job, max_attempts=settings.max_processing_attempts):
            report.recovered.append(str(job.id))
            due.append(_reserved(job))
        else:
            _report_failed(job, report)
    return due


class DatabaseWatch:
    """When may a sweep judge a `processing` job's worker dead? Not right after the database
    was out of its reach: a job whose result transaction failed in the outage could not be
    handed back either, so it looks abandoned, while its own retry is about to claim it again
    (within RETRY_BACKOFF_MAX_SECONDS of the database's return). A sweep recovers dead workers
    only once the database has answered its sweeps for twice that; a fresh beat waits as long.
    """

    def __init__(self, settings: Settings) -> None:
        self.grace_s = 2 * settings.retry_backoff_max_seconds
        self._answering_since: float | None = None

    def may_recover(self) -> bool:
        now = time.monotonic()
        if self._answering_since is None:
            self._answering_since = now
        return now - self._answering_since >= self.grace_s

    def failed(self) -> None:
        """A sweep met a database error: the grace starts again at the next sweep."""
        self._answering_since = None


def _reserved(job: ImageProcessingJob) -> JobMessage:
    reserve_for_publish(job=job)
    return JobMessage(job_id=job.id, book_id=job.book_id, image_id=job.source_image_id)


def _batch(settings: Settings, status: JobStatus) -> Select[ImageProcessingJob]:
    return (
        select(ImageProcessingJob)
        .where(ImageProcessingJob.status == status)
        .order_by(ImageProcessingJob.updated_at)
        # ~5 ms a job to publish to SQS: 100 keeps one sweep well under a second.
        .limit(settings.sweep_batch_size)
        .with_for_update(skip_locked=True)
    )


def _dead_workers(settings: Settings, now: datetime) -> Select[ImageProcessingJob]:
    """`processing` past the hard time limit plus the visibility timeout: its worker died."""
    cutoff = now - timedelta(seconds=settings.task_time_limit + settings.sqs_visibility_timeout)
    return (
        select(ImageProcessingJob)
        .where(
            ImageProcessingJob.status == JobStatus.processing,
            ImageProcessingJob.started_at < cutoff,
        )
        .order_by(ImageProcessingJob.started_at)
        .limit(settings.sweep_batch_size)
        .with_for_update(skip_locked=True)
    )


def _report_failed(job: ImageProcessingJob, report: SweepReport) -> None:
    report.failed.append(str(job.id))
    log.warning(
        "sweep failed job %s: %s",
        job.id,
        job.failure_reason,
        extra={"job_id": str(job.id), "reason": job.failure_reason},
    )
