"""TLS to the database and the pool's size: the settings reach psycopg, and libpq acts on them.

Every ECS task definition sets DATABASE_SSLMODE=verify-full with the RDS CA bundle the image
carries (tests/deploy/test_database_tls.py); here the settings go into the connection
arguments, and a real Postgres that speaks no TLS (the local one) is refused under
verify-full, which only libpq can have decided.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.db import MAX_OVERFLOW, build_engine
from app.settings import Settings
from app.timeouts import postgres_connect_args

BUNDLE = Path(__file__).resolve().parents[2] / "docker" / "rds-ca-roots.pem"


def test_connect_args_carry_sslmode_and_the_ca_bundle_from_settings() -> None:
    settings = Settings(database_sslmode="verify-full", database_sslrootcert=BUNDLE)
    args = postgres_connect_args(settings)
    assert (args["sslmode"], args["sslrootcert"]) == ("verify-full", str(BUNDLE))


def test_by_default_libpqs_own_prefer_and_no_bundle() -> None:
    args = postgres_connect_args(Settings())
    assert args["sslmode"] == "prefer"
    assert "sslrootcert" not in args


def test_an_unknown_sslmode_is_refused() -> None:
    with pytest.raises(ValueError, match="verify-full"):
        Settings(database_sslmode="verify")


def test_verify_full_refuses_a_postgres_without_tls(postgres_url: str) -> None:
    """The local Postgres has ssl off: under verify-full libpq refuses it before any query,
    and under the default prefer the same server answers, in clear."""
    refused = build_engine(
        Settings(
            database_url=postgres_url, database_sslmode="verify-full", database_sslrootcert=BUNDLE
        )
    )
    try:
        with pytest.raises(OperationalError, match="server does not support SSL"):
            refused.connect().close()
    finally:
        refused.dispose()

    allowed = build_engine(Settings(database_url=postgres_url))
    try:
        with allowed.connect() as connection:
            encrypted = connection.execute(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            ).scalar_one()
        assert encrypted is False
    finally:
        allowed.dispose()


def test_the_pool_takes_its_size_from_settings(postgres_url: str) -> None:
    engine = build_engine(Settings(database_url=postgres_url, database_pool_size=7))
    try:
        assert (engine.pool.size(), engine.pool._max_overflow) == (7, MAX_OVERFLOW)  # type: ignore[attr-defined]
    finally:
        engine.dispose()
