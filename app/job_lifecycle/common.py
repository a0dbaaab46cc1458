"""What both halves of the lifecycle share: failing a held job, and reading its times."""

from __future__ import annotations

from datetime import datetime

from app.failure_reasons import FailureReason
from app.models import ImageProcessingJob, JobStatus, utc_now


def mark_failed(job: ImageProcessingJob, reason: FailureReason) -> None:
    """-> failed with a named reason; the caller holds the row."""
    now = utc_now()
    job.status = JobStatus.failed
    job.failure_reason = reason.value  # the column is a plain string: store the value itself
    job.completed_at = now
    job.updated_at = now


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utc_now().tzinfo)
