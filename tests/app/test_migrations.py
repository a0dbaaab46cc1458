"""Migrations: upgrade head / downgrade base on Postgres and SQLite; models and migrations agree."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from app.migrate import downgrade, upgrade
from app.models import Base
from tests import servers

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = {"books", "book_images", "image_processing_jobs"}
_INSERT_IMAGE = (
    "INSERT INTO book_images (id, book_id, s3_key, display_order) VALUES (1, 1, '1/a.jpg', 1)"
)


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database of each backend."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
        yield engine
        engine.dispose()
        return
    with servers.postgres_database() as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_head_then_downgrade_base(empty_engine: Engine) -> None:
    with empty_engine.begin() as connection:
        upgrade(connection=connection)
    assert _tables(empty_engine) == TABLES
    with empty_engine.begin() as connection:
        downgrade(connection=connection)
    assert _tables(empty_engine) == set()
    # ...and up again, so downgrade left nothing behind that blocks a re-run.
    with empty_engine.begin() as connection:
        upgrade(connection=connection)
    assert _tables(empty_engine) == TABLES


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    with empty_engine.begin() as connection:
        upgrade(connection=connection)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_compare_notices_a_model_the_migrations_lack(empty_engine: Engine) -> None:
    """The agreement test can fail: a table only in the models is reported."""
    with empty_engine.begin() as connection:
        upgrade(connection=connection)
        connection.execute(text("DROP TABLE image_processing_jobs"))
    with empty_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert ("add_table", "image_processing_jobs") in [(d[0], d[1].name) for d in diff]


def _insert_job(connection: Connection, *, image_id: int, status: str) -> None:
    connection.execute(
        text(
            "INSERT INTO image_processing_jobs (id, book_id, source_image_id, status) "
            "VALUES (:id, 1, :image_id, :status)"
        ),
        {
            "id": uuid.uuid4().hex if connection.dialect.name == "sqlite" else str(uuid.uuid4()),
            "image_id": image_id,
            "status": status,
        },
    )


def test_database_allows_one_active_job_per_image(empty_engine: Engine) -> None:
    with empty_engine.begin() as connection:
        upgrade(connection=connection)
        connection.execute(text("INSERT INTO books (id, title) VALUES (1, 'A')"))
        connection.execute(text(_INSERT_IMAGE))
        # Finished jobs do not count: any number of them beside one active job.
        _insert_job(connection, image_id=1, status="completed")
        _insert_job(connection, image_id=1, status="failed")
        _insert_job(connection, image_id=1, status="queue_failed")
    for status in ("pending", "processing", "queue_failed"):
        with pytest.raises(IntegrityError), empty_engine.begin() as connection:
            _insert_job(connection, image_id=1, status=status)


def test_database_refuses_an_unknown_status(empty_engine: Engine) -> None:
    with empty_engine.begin() as connection:
        upgrade(connection=connection)
        connection.execute(text("INSERT INTO books (id, title) VALUES (1, 'A')"))
        connection.execute(text(_INSERT_IMAGE))
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        _insert_job(connection, image_id=1, status="exploded")


def test_upgrade_drops_the_exception_name_from_publish_failed(empty_engine: Engine) -> None:
    """0002: `publish_failed: <ExceptionName>` rows validate against FailureReason again."""
    with empty_engine.begin() as connection:
        upgrade(revision="0001", connection=connection)
        connection.execute(text("INSERT INTO books (id, title) VALUES (1, 'A')"))
        connection.execute(text(_INSERT_IMAGE))
        _insert_job(connection, image_id=1, status="queue_failed")
        _insert_job(connection, image_id=1, status="failed")
        connection.execute(
            text(
                "UPDATE image_processing_jobs SET failure_reason = CASE status "
                "WHEN 'queue_failed' THEN 'publish_failed: OperationalError' "
                "ELSE 'worker_lost' END"
            )
        )
        upgrade(connection=connection)
        reasons = connection.execute(
            text("SELECT failure_reason FROM image_processing_jobs ORDER BY failure_reason")
        ).scalars()
        assert list(reasons) == ["publish_failed", "worker_lost"]


def test_python_m_app_migrate_upgrades_from_any_directory(tmp_path: Path) -> None:
    """The container's migrate command: alembic.ini is found inside the package."""
    database = tmp_path / "cli.db"
    result = subprocess.run(
        [sys.executable, "-m", "app.migrate"],
        cwd=tmp_path,
        env={"DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(REPO_ROOT), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert _tables(engine) == TABLES
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
