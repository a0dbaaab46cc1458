"""image_processing_jobs.publish_failing_since: when the broker started refusing the job

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 12:00:00+00:00

The sweep republishes a queue_failed job until it has been off the queue for the retry budget
(RETRY_BUDGET_SECONDS), a time, not a count of attempts. Set by the first publish that fails,
cleared by the next that succeeds; null for every job the broker took at once. Jobs that are
queue_failed when this runs have no start recorded, so their budget starts at their last update.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "image_processing_jobs",
        sa.Column("publish_failing_since", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "UPDATE image_processing_jobs SET publish_failing_since = updated_at "
        "WHERE status = 'queue_failed'"
    )


def downgrade() -> None:
    op.drop_column("image_processing_jobs", "publish_failing_since")
