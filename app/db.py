"""The SQLAlchemy engine and sessions: built lazily, once per process, never at import.

Postgres in every real deploy, from `DATABASE_URL` or from the Secrets Manager
secret `DATABASE_SECRET_ARN` (read once, re-read once when Postgres rejects the
credentials, as after a rotation). SQLite only for the embedded mode.

Every Postgres call is bounded (app/timeouts.py): the connect timeout, the server's statement
timeout, and a client-side limit for a connection that has gone silent, which neither of the
others catches (psycopg waits for an answer forever; see `BoundedConnection`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.errors import _WaitTimeout  # psycopg's own "no answer in time" (3.3)
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.credentials import SecretCredentials, is_authentication_failure, secret_credentials
from app.settings import Settings, get_settings
from app.timeouts import database_no_answer_seconds, postgres_connect_args

logger = logging.getLogger(__name__)

# The API runs its blocking work on a thread pool (40 threads by default); DATABASE_POOL_SIZE
# connections (20 by default: the measured 16-way load with headroom) serve it, and a request
# waits at most 5 s for one, then gets 503 database_busy (app/errors.py): a wait plus one
# statement stays near the API's bound. All are kept once opened, none overflow: with 10 kept
# and 10 overflow, a 16-way load closed and reopened a connection every sixth request (339 in
# 2100, bench-api), and the connection budget (docs/deployment.md) counts the pool alone.
MAX_OVERFLOW = 0
POOL_TIMEOUT_SECONDS = 5

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


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection that gives up on a server that stopped answering.

    psycopg waits for a reply with no limit of its own: the statement timeout is the server's,
    so a server or network path that went silent (a frozen host, a half-open connection through
    a proxy) would hold the worker, or beat's sweep, forever. Every wait here is bounded by
    `answer_timeout`; past it the connection is closed, since its protocol state is unknown,
    and the OperationalError makes SQLAlchemy drop it from the pool.
    """

    answer_timeout: float | None = None  # seconds; None waits as long as psycopg does

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(
                gen, interval, timeout if timeout is not None else self.answer_timeout
            )
        except _WaitTimeout:
            self.close()
            raise psycopg.OperationalError(
                f"no answer from the database within {self.answer_timeout} s; connection closed"
            ) from None


def build_engine(settings: Settings) -> Engine:
    url = database_url(settings)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    engine = create_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        # Connections older than an hour are replaced, so a rotated password takes over.
        pool_recycle=3600,
        connect_args={"application_name": "image-processor", **postgres_connect_args(settings)},
        hide_parameters=True,
    )
    credentials = (
        secret_credentials(settings.database_secret_arn) if settings.database_secret_arn else None
    )
    _connect_bounded(
        engine, answer_timeout=database_no_answer_seconds(settings), credentials=credentials
    )
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _connect_bounded(
    engine: Engine, *, answer_timeout: float, credentials: SecretCredentials | None
) -> None:
    """Every new connection is a BoundedConnection; with a secret, it takes the cached
    credentials, and a rejection re-reads the secret once."""

    def connect(cparams: dict[str, Any], extra: dict[str, Any]) -> BoundedConnection:
        connection = BoundedConnection.connect(**{**cparams, **extra})
        connection.answer_timeout = answer_timeout
        return connection

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        if credentials is None:
            return connect(cparams, {})
        current = credentials.current()
        try:
            return connect(cparams, current.connect_params())
        except psycopg.OperationalError as error:
            if not is_authentication_failure(error):
                raise
            logger.warning(
                "database rejected the credentials of secret %s; re-reading it once",
                credentials.secret_arn,
            )
            fresh = credentials.refresh(stale=current)
            return connect(cparams, fresh.connect_params())


@contextmanager
def without_timeouts(connection: Connection) -> Iterator[Connection]:
    """`connection` with no statement timeout and no answer limit while the block runs (a
    migration may rewrite a table for minutes); both come back afterwards."""
    if connection.dialect.name != "postgresql":
        yield connection
        return
    dbapi: Any = connection.connection.dbapi_connection
    limit = getattr(dbapi, "answer_timeout", None)
    connection.exec_driver_sql("SET statement_timeout = 0")
    connection.commit()
    dbapi.answer_timeout = None
    try:
        yield connection
    finally:
        dbapi.answer_timeout = limit
        connection.exec_driver_sql("RESET statement_timeout")
        connection.commit()


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
