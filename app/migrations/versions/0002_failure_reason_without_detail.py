"""failure reasons without detail: `publish_failed: <ExceptionName>` becomes `publish_failed`

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 03:50:00+00:00

Data only; the column stays a string. The API now types `failure_reason` with the
FailureReason vocabulary (app/failure_reasons.py), and a row still holding the old
`publish_failed: <ExceptionName>` (a queue_failed job from before this release) would not
validate against it. The exception name was always in the publisher's log line as well.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE image_processing_jobs SET failure_reason = 'publish_failed' "
            "WHERE failure_reason LIKE 'publish_failed:%'"
        )
    )


def downgrade() -> None:
    # Nothing to undo: the old code reads a bare `publish_failed` as well, and the
    # exception names are gone (they are in the logs).
    pass
