"""Database models: books, their images, and the background-removal jobs.

`book_images.s3_key` holds the key WITHOUT `S3_IMAGES_PREFIX` (for example
`12/3f2a….jpg`); only the S3 storage adds the prefix, on the way out.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Uuid,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

# Deterministic constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class JobStatus(enum.StrEnum):
    """pending -> processing -> completed | failed; queue_failed = the API could not publish."""

    pending = "pending"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    queue_failed = "queue_failed"


# A source image has at most one job in these states (enforced by a partial unique index).
ACTIVE_STATUSES: tuple[JobStatus, ...] = (
    JobStatus.pending,
    JobStatus.queue_failed,
    JobStatus.processing,
)
TERMINAL_STATUSES: tuple[JobStatus, ...] = (JobStatus.completed, JobStatus.failed)
_ACTIVE_CLAUSE = text(
    "status IN (" + ", ".join(f"'{status.value}'" for status in ACTIVE_STATUSES) + ")"
)


def _optional_timestamp() -> MappedColumn[Any]:
    return mapped_column(DateTime(timezone=True), nullable=True)


def _created_at() -> MappedColumn[Any]:
    return mapped_column(
        DateTime(timezone=True), nullable=False, default=utc_now, server_default=func.now()
    )


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class BookImage(Base):
    __tablename__ = "book_images"
    __table_args__ = (Index(None, "book_id", "display_order"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), nullable=False)
    # Without S3_IMAGES_PREFIX: "<book_id>/<file>".
    s3_key: Mapped[str] = mapped_column(String(1024), nullable=False)
    display_order: Mapped[int] = mapped_column(Integer, nullable=False)
    is_primary: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # Set on processed results: the original this image was made from.
    source_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("book_images.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = _created_at()


_JOB_STATUS_TYPE = Enum(
    JobStatus,
    name="job_status",
    native_enum=False,
    create_constraint=True,
    length=20,
    values_callable=lambda statuses: [status.value for status in statuses],
    validate_strings=True,
)


class ImageProcessingJob(Base):
    __tablename__ = "image_processing_jobs"
    __table_args__ = (
        # At most one active job per source image, enforced by the database.
        Index(
            "uq_image_processing_jobs_one_active_per_image",
            "source_image_id",
            unique=True,
            postgresql_where=_ACTIVE_CLAUSE,
            sqlite_where=_ACTIVE_CLAUSE,
        ),
        # The beat sweep selects by status and age.
        Index(None, "status", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    book_id: Mapped[int] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), nullable=False, index=True
    )
    source_image_id: Mapped[int] = mapped_column(
        ForeignKey("book_images.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[JobStatus] = mapped_column(
        _JOB_STATUS_TYPE, nullable=False, default=JobStatus.pending
    )
    # Times a worker claimed the job; times the API or the sweep published it.
    attempt_count: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    enqueue_attempts: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    model_used: Mapped[str | None] = mapped_column(String(100))
    # Did the cascade go past the chain's first model? (null until the job completes)
    escalated: Mapped[bool | None] = mapped_column(Boolean)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # What the operator asked for (app/processing_overrides.py); null: as configured.
    requested_model_chain: Mapped[list[str] | None] = mapped_column(JSON)
    requested_backdrop: Mapped[str | None] = mapped_column(String(10))
    subject_brightness: Mapped[float | None] = mapped_column(Float)
    background_color: Mapped[str | None] = mapped_column(String(10))
    result_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("book_images.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = _created_at()
    queued_at: Mapped[datetime | None] = _optional_timestamp()
    # When the broker started refusing the job (queue_failed), for the sweep's retry budget.
    publish_failing_since: Mapped[datetime | None] = _optional_timestamp()
    started_at: Mapped[datetime | None] = _optional_timestamp()
    completed_at: Mapped[datetime | None] = _optional_timestamp()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        nullable=False,
        default=utc_now,
        onupdate=utc_now,
        server_default=func.now(),
    )

    def __repr__(self) -> str:
        return f"<ImageProcessingJob {self.id} image={self.source_image_id} {self.status.value}>"
