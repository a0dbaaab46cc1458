"""image_processing_jobs.escalated: whether the model cascade went past its first model

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 06:00:00+00:00

Nullable, as model_used is: null until a job completes, and for jobs completed before
the cascade (they ran the chain's first passing model, and nobody recorded more).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("image_processing_jobs", sa.Column("escalated", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("image_processing_jobs", "escalated")
