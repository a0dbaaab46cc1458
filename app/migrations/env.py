"""Alembic environment: the engine is app.db's, so DATABASE_SECRET_ARN works for migrations too.

A caller that already holds a connection (the tests) passes it as
`config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from app.db import get_engine, without_timeouts
from app.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite alters tables by copying them; batch mode makes later migrations portable.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # A migration may rewrite a table for minutes: no statement timeout, no answer limit.
    with get_engine().connect() as connection, without_timeouts(connection):
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `python -m app.migrate`")
run_migrations_online()
