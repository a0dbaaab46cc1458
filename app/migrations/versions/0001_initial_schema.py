"""initial schema: books, book_images, image_processing_jobs

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:08:25+00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_STATUSES = ("pending", "processing", "completed", "failed", "queue_failed")
ACTIVE_CLAUSE = sa.text("status IN ('pending', 'queue_failed', 'processing')")


def _created_at(name: str = "created_at") -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "books",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_books")),
    )
    op.create_table(
        "book_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("s3_key", sa.String(length=1024), nullable=False),
        sa.Column("display_order", sa.Integer(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("source_image_id", sa.Integer(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_book_images_book_id_books"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_image_id"],
            ["book_images.id"],
            name=op.f("fk_book_images_source_image_id_book_images"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_book_images")),
    )
    op.create_index(
        op.f("ix_book_images_book_id_display_order"), "book_images", ["book_id", "display_order"]
    )
    op.create_table(
        "image_processing_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("source_image_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *JOB_STATUSES,
                name="job_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("enqueue_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("model_used", sa.String(length=100), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("subject_brightness", sa.Float(), nullable=True),
        sa.Column("background_color", sa.String(length=10), nullable=True),
        sa.Column("result_image_id", sa.Integer(), nullable=True),
        _created_at(),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        _created_at("updated_at"),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_image_processing_jobs_book_id_books"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["result_image_id"],
            ["book_images.id"],
            name=op.f("fk_image_processing_jobs_result_image_id_book_images"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_image_id"],
            ["book_images.id"],
            name=op.f("fk_image_processing_jobs_source_image_id_book_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_processing_jobs")),
    )
    op.create_index(op.f("ix_image_processing_jobs_book_id"), "image_processing_jobs", ["book_id"])
    op.create_index(
        op.f("ix_image_processing_jobs_status_updated_at"),
        "image_processing_jobs",
        ["status", "updated_at"],
    )
    # At most one active job per source image.
    op.create_index(
        "uq_image_processing_jobs_one_active_per_image",
        "image_processing_jobs",
        ["source_image_id"],
        unique=True,
        postgresql_where=ACTIVE_CLAUSE,
        sqlite_where=ACTIVE_CLAUSE,
    )


def downgrade() -> None:
    op.drop_index(
        "uq_image_processing_jobs_one_active_per_image", table_name="image_processing_jobs"
    )
    op.drop_index(
        op.f("ix_image_processing_jobs_status_updated_at"), table_name="image_processing_jobs"
    )
    op.drop_index(op.f("ix_image_processing_jobs_book_id"), table_name="image_processing_jobs")
    op.drop_table("image_processing_jobs")
    op.drop_index(op.f("ix_book_images_book_id_display_order"), table_name="book_images")
    op.drop_table("book_images")
    op.drop_table("books")
