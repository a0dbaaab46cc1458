"""The SQLAlchemy engine and sessions: built lazily, once per process, never at import.

Postgres in every real deploy, from `DATABASE_URL` or from the Secrets Manager
secret `DATABASE_SECRET_ARN` (read once, re-read once when Postgres rejects the
credentials, as after a rotation). SQLite only for the embedded mode.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.credentials import SecretCredentials, is_authentication_failure, secret_credentials
from app.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# The API runs its blocking work on a thread pool (40 threads by default); 20 connections
# serve the measured 16-way load with headroom, and a request waits at most 10 s for one.
# All 20 are kept once opened: with 10 kept and 10 overflow, a 16-way load closed and
# reopened a connection every sixth request (339 in 2100, bench-api).
POOL_SIZE = 20
MAX_OVERFLOW = 0
POOL_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 5

_lock = threading.Lock()
_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def database_url(settings: Settings) -> URL:
    """The engine's URL; with a secret, one without credentials (added on each connect)."""
    if settings.database_secret_arn:
        return URL.create("postgresql+psycopg")
    url = make_url(settings.database_url.get_secret_value())
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def build_engine(settings: Settings) -> Engine:
    url = database_url(settings)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    engine = create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        # Connections older than an hour are replaced, so a rotated password takes over.
        pool_recycle=3600,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "image-processor",
        },
        hide_parameters=True,
    )
    if settings.database_secret_arn:
        _connect_with_secret(engine, secret_credentials(settings.database_secret_arn))
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _connect_with_secret(engine: Engine, credentials: SecretCredentials) -> None:
    """Every new connection takes the cached credentials; a rejection re-reads the secret once."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        current = credentials.current()
        try:
            return dialect.connect(*cargs, **{**cparams, **current.connect_params()})
        except dialect.loaded_dbapi.OperationalError as error:
            if not is_authentication_failure(error):
                raise
            logger.warning(
                "database rejected the credentials of secret %s; re-reading it once",
                credentials.secret_arn,
            )
            fresh = credentials.refresh(stale=current)
            return dialect.connect(*cargs, **{**cparams, **fresh.connect_params()})


def get_engine() -> Engine:
    global _engine, _sessionmaker
    with _lock:
        if _engine is None:
            _engine = build_engine(get_settings())
            _sessionmaker = sessionmaker(bind=_engine, expire_on_commit=False)
        return _engine


def get_sessionmaker() -> sessionmaker[Session]:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engine(*, close: bool = False) -> None:
    """Forget the engine; the next use builds a new one from the current settings.

    After a fork call it with `close=False` (the default): the parent's connections
    are dropped from this process's pool without being closed under the parent.
    Tests and shutdown pass `close=True`.
    """
    global _engine, _sessionmaker
    with _lock:
        if _engine is not None:
            _engine.dispose(close=close)
        _engine = None
        _sessionmaker = None
