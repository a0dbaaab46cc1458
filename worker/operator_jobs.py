"""What the operator sees of the job table: counts by status and reason, and a filtered listing.

Read only. The filter is shared with `jobs retry` (worker/operator_retry.py), so the listing an
operator reads is the selection a retry acts on. "Since" is measured on `updated_at`, the time
of a job's last change: for a failed job, when it failed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.job_lifecycle.common import aware
from app.models import ImageProcessingJob, JobStatus, utc_now

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class JobFilter:
    """Which jobs: any of `statuses`, any of `reasons`, one book, changed at or after `since`."""

    statuses: tuple[JobStatus, ...] = ()
    reasons: tuple[str, ...] = ()
    book_id: int | None = None
    since: datetime | None = None

    def apply(self, query: Select) -> Select:
        jobs = ImageProcessingJob
        if self.statuses:
            query = query.where(jobs.status.in_(self.statuses))
        if self.reasons:
            query = query.where(jobs.failure_reason.in_(self.reasons))
        if self.book_id is not None:
            query = query.where(jobs.book_id == self.book_id)
        if self.since is not None:
            query = query.where(jobs.updated_at >= self.since)
        return query


@dataclass(frozen=True)
class StatusCount:
    status: str
    reason: str | None
    count: int


@dataclass(frozen=True)
class JobSummary:
    """One job as the listing shows it."""

    id: uuid.UUID
    book_id: int
    image_id: int
    status: str
    reason: str | None
    attempts: int
    enqueue_attempts: int
    model: str | None
    created_at: datetime
    updated_at: datetime
    age_seconds: float = field(default=0.0)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "book_id": self.book_id,
            "image_id": self.image_id,
            "status": self.status,
            "reason": self.reason,
            "attempts": self.attempts,
            "enqueue_attempts": self.enqueue_attempts,
            "model": self.model,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "age_seconds": round(self.age_seconds, 1),
        }


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`30m`, `2h`, `1d` (that long ago) or an ISO 8601 time (UTC unless it says otherwise)."""
    match = _DURATION.match(text.strip())
    if match:
        amount, unit = match.groups()
        return (now or utc_now()) - timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
    try:
        return aware(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (30m, 2h, 1d) nor an ISO 8601 time"
        ) from None


def count_jobs(*, session: Session, selection: JobFilter) -> list[StatusCount]:
    """How many jobs of each (status, failure reason) the filter matches, largest first."""
    jobs = ImageProcessingJob
    query = selection.apply(
        select(jobs.status, jobs.failure_reason, func.count()).group_by(
            jobs.status, jobs.failure_reason
        )
    )
    rows = session.execute(query).all()
    counts = [StatusCount(JobStatus(status).value, reason, count) for status, reason, count in rows]
    return sorted(counts, key=lambda row: (-row.count, row.status, row.reason or ""))


def list_jobs(*, session: Session, selection: JobFilter, limit: int) -> list[JobSummary]:
    """The filter's jobs, the most recently changed first, at most `limit`."""
    jobs = ImageProcessingJob
    query = selection.apply(select(jobs)).order_by(jobs.updated_at.desc(), jobs.id).limit(limit)
    return [summarize(job) for job in session.scalars(query)]


def summarize(job: ImageProcessingJob, *, now: datetime | None = None) -> JobSummary:
    updated = aware(job.updated_at)
    return JobSummary(
        id=job.id,
        book_id=job.book_id,
        image_id=job.source_image_id,
        status=JobStatus(job.status).value,
        reason=job.failure_reason,
        attempts=job.attempt_count,
        enqueue_attempts=job.enqueue_attempts,
        model=job.model_used,
        created_at=aware(job.created_at),
        updated_at=updated,
        age_seconds=((now or utc_now()) - updated).total_seconds(),
    )
