"""`image-processor jobs retry`: a new attempt for each failed job the filter selects.

A retry is what the API's re-process is: a new job for the image, made by
`app.job_lifecycle.create_job` with the overrides the failed job recorded (the failed job stays
as the record of what happened), published by `app.enqueue`. It works as the beat sweep does,
so that no row lock and no transaction is held while SQS is called:

1. in one short transaction, take a batch of retryable failed jobs under `FOR UPDATE SKIP
   LOCKED` and create a new job for each; commit;
2. publish the batch with no transaction open, stopping at the first message SQS refuses;
3. in a second transaction, record what SQS did: queued, or queue_failed for the beat sweep.

A failed job is retryable only while it is its image's newest job. Once retried, its image has a
newer one, so a second run (or a second operator at the same moment: the row lock and the one
active job per image index decide) retries nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session, aliased

from app.db import session_scope
from app.enqueue import JobMessage, publish_messages
from app.job_lifecycle import create_job, record_publish_outcomes
from app.models import ImageProcessingJob, JobStatus
from app.processing_overrides import ProcessingOverrides
from worker.operator_jobs import JobFilter, JobSummary, summarize

log = logging.getLogger(__name__)

# Jobs created per transaction and published before the next batch: ~5 ms a publish to SQS,
# so a batch holds its row locks for well under a second and publishes in about a quarter.
RETRY_BATCH_SIZE = 50


@dataclass(frozen=True)
class Retried:
    failed_job: uuid.UUID
    new_job: uuid.UUID


@dataclass
class RetryReport:
    """What a run did: `queued` new jobs are on SQS; `not_queued` were created but SQS refused
    them (queue_failed: the beat sweep publishes them); `skipped` already had an active job."""

    dry_run: bool = False
    selected: list[JobSummary] = field(default_factory=list)
    queued: list[Retried] = field(default_factory=list)
    not_queued: list[Retried] = field(default_factory=list)
    skipped: list[uuid.UUID] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        def pairs(retried: list[Retried]) -> list[dict[str, str]]:
            return [{"failed_job": str(r.failed_job), "new_job": str(r.new_job)} for r in retried]

        return {
            "dry_run": self.dry_run,
            "selected": len(self.selected),
            "queued": len(self.queued),
            "not_queued": len(self.not_queued),
            "skipped": len(self.skipped),
            "jobs": [job.as_dict() for job in self.selected] if self.dry_run else None,
            "retried": pairs(self.queued),
            "refused": pairs(self.not_queued),
        }


def retryable(selection: JobFilter) -> Select:
    """Failed jobs the filter matches that are still their image's newest job, oldest first."""
    jobs, newer = ImageProcessingJob, aliased(ImageProcessingJob)
    superseded = exists().where(
        newer.source_image_id == jobs.source_image_id, newer.created_at > jobs.created_at
    )
    failed_only = JobFilter(
        statuses=(JobStatus.failed,),
        reasons=selection.reasons,
        book_id=selection.book_id,
        since=selection.since,
    )
    return failed_only.apply(select(jobs)).where(~superseded).order_by(jobs.updated_at, jobs.id)


def retry_failed_jobs(
    *,
    selection: JobFilter,
    limit: int,
    dry_run: bool = False,
    batch_size: int = RETRY_BATCH_SIZE,
) -> RetryReport:
    """Retry at most `limit` failed jobs, `batch_size` at a time; stop when SQS refuses one."""
    if dry_run:
        with session_scope() as session:
            found = session.scalars(retryable(selection).limit(limit))
            return RetryReport(dry_run=True, selected=[summarize(job) for job in found])
    report = RetryReport()
    while len(report.selected) < limit:
        with session_scope() as session:
            batch = _create_batch(session, selection, min(batch_size, limit - len(report.selected)))
        if not batch:
            break
        messages = [message for _, message in batch if message is not None]
        for summary, message in batch:
            report.selected.append(summary)
            if message is None:
                report.skipped.append(summary.id)
        outcome = publish_messages(messages)
        with session_scope() as session:
            record_publish_outcomes(
                session=session,
                published=outcome.published,
                refused=outcome.refused,
                untried=outcome.untried,
            )
        new_to_failed = {message.job_id: summary.id for summary, message in batch if message}
        published = set(outcome.published)
        for new_job, failed_job in new_to_failed.items():
            retried = Retried(failed_job=failed_job, new_job=new_job)
            (report.queued if new_job in published else report.not_queued).append(retried)
        if outcome.refused:
            break
    return report


def _create_batch(
    session: Session, selection: JobFilter, size: int
) -> list[tuple[JobSummary, JobMessage | None]]:
    """Step 1: up to `size` failed jobs, each with its new job's message (None: the image had
    an active job already, made by someone else meanwhile)."""
    query = (
        retryable(selection).limit(size).with_for_update(of=ImageProcessingJob, skip_locked=True)
    )
    batch: list[tuple[JobSummary, JobMessage | None]] = []
    for failed in session.scalars(query).all():
        # A new attempt at what was asked: the failed job's model chain and backdrop, if chosen.
        overrides = ProcessingOverrides.of_job(
            failed.requested_model_chain, failed.requested_backdrop
        )
        job, created = create_job(
            session=session,
            book_id=failed.book_id,
            image_id=failed.source_image_id,
            overrides=overrides,
        )
        message = None
        if created:
            message = JobMessage(job_id=job.id, book_id=job.book_id, image_id=job.source_image_id)
            log.info(
                "job %s: retried as job %s (%s)",
                failed.id,
                job.id,
                failed.failure_reason,
                extra={"job_id": str(failed.id), "new_job_id": str(job.id)},
            )
        batch.append((summarize(failed), message))
    return batch
