"""The beat sweep: jobs that never reached the queue, lost their message, or lost their worker.

Each part claims a bounded batch under `FOR UPDATE SKIP LOCKED` and moves every
row out of the state that selected it in the same transaction, so two beats
running at once never handle one job twice. Every job gets a bounded number of
attempts, after which it fails with a reason. This module chooses the jobs; how their
state changes is app/job_lifecycle.py's (allow_republish, recover_job) and app/enqueue.py's
(publish_job).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.db import session_scope
from app.enqueue import publish_job
from app.job_lifecycle import allow_republish, recover_job
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


def sweep_jobs(*, settings: Settings, queue_is_empty: bool | None) -> SweepReport:
    """One pass. `queue_is_empty` (SQS shows no visible message) gates the stale-pending part:
    while a backlog is draining, a long-pending job's message is most likely still queued.
    """
    report = SweepReport()
    now = utc_now()
    with session_scope() as session:
        _republish(session, _batch(settings, JobStatus.queue_failed), settings, report)
    if queue_is_empty:
        stale = now - timedelta(seconds=settings.stale_pending_after_seconds)
        with session_scope() as session:
            query = _batch(settings, JobStatus.pending).where(
                func.coalesce(ImageProcessingJob.queued_at, ImageProcessingJob.created_at) < stale
            )
            _republish(session, query, settings, report)
    with session_scope() as session:
        _recover_dead_workers(session, settings, now, report)
    log.info("sweep done", extra=report.as_dict())
    return report


def _batch(settings: Settings, status: JobStatus) -> Select[ImageProcessingJob]:
    return (
        select(ImageProcessingJob)
        .where(ImageProcessingJob.status == status)
        .order_by(ImageProcessingJob.updated_at)
        # ~5 ms a job to publish to SQS: 100 keeps one sweep well under a second
        # and the row locks short.
        .limit(settings.sweep_batch_size)
        .with_for_update(skip_locked=True)
    )


def _republish(
    session: Session,
    query: Select[ImageProcessingJob],
    settings: Settings,
    report: SweepReport,
) -> None:
    for job in session.scalars(query):
        if not allow_republish(job=job, max_attempts=settings.max_enqueue_attempts):
            _report_failed(job, report)
            continue
        if not publish_job(job):
            report.publish_errors += 1
            break  # the broker is down: the rest wait for the next sweep
        report.republished.append(str(job.id))


def _recover_dead_workers(
    session: Session, settings: Settings, now: datetime, report: SweepReport
) -> None:
    """`processing` past the hard time limit plus the visibility timeout: its worker died."""
    cutoff = now - timedelta(seconds=settings.task_time_limit + settings.sqs_visibility_timeout)
    query = (
        select(ImageProcessingJob)
        .where(
            ImageProcessingJob.status == JobStatus.processing,
            ImageProcessingJob.started_at < cutoff,
        )
        .order_by(ImageProcessingJob.started_at)
        .limit(settings.sweep_batch_size)
        .with_for_update(skip_locked=True)
    )
    for job in session.scalars(query):
        if not recover_job(job=job, max_attempts=settings.max_processing_attempts):
            _report_failed(job, report)
            continue
        report.recovered.append(str(job.id))
        if not publish_job(job):
            report.publish_errors += 1
            break


def _report_failed(job: ImageProcessingJob, report: SweepReport) -> None:
    report.failed.append(str(job.id))
    log.warning(
        "sweep failed job %s: %s",
        job.id,
        job.failure_reason,
        extra={"job_id": str(job.id), "reason": job.failure_reason},
    )
