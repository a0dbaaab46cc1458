"""image_processing_jobs.requested_model_chain, requested_backdrop: an operator's overrides

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14 09:00:00+00:00

`POST /books/{id}/images/{image_id}/process` may ask for a model chain (a JSON list of names)
and a backdrop ("black" or "white"); the worker reads them from the row when it claims the job.
Both nullable: null is "as configured" (MODEL_CHAIN, the brightness rule), which is what every
job made before this revision did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "image_processing_jobs", sa.Column("requested_model_chain", sa.JSON(), nullable=True)
    )
    op.add_column(
        "image_processing_jobs",
        sa.Column("requested_backdrop", sa.String(length=10), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("image_processing_jobs", "requested_backdrop")
    op.drop_column("image_processing_jobs", "requested_model_chain")
