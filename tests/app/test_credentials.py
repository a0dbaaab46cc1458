"""Database credentials from Secrets Manager (moto_server over HTTP) against the real Postgres."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable

import boto3
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app.credentials import (
    CredentialsError,
    DatabaseCredentials,
    is_authentication_failure,
    secret_credentials,
)
from app.db import dispose_engine, get_engine, session_scope
from app.settings import Settings

PASSWORD = "hunter2-not-for-logs"


@pytest.fixture
def secret(moto_endpoint: str, postgres_url: str) -> Callable[..., str]:
    """Write database credentials to a new secret; returns a function that rotates them."""
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    url = make_url(postgres_url)
    name = f"db-{uuid.uuid4().hex[:8]}"
    good = {
        "host": url.host,
        "port": url.port,
        "username": url.username,
        "password": PASSWORD,
        "dbname": url.database,
        "engine": "postgres",
    }
    arn = client.create_secret(Name=name, SecretString=json.dumps(good))["ARN"]

    def _write(**changes: object) -> str:
        client.put_secret_value(SecretId=arn, SecretString=json.dumps({**good, **changes}))
        return arn

    return _write


@pytest.fixture
def secret_settings(
    make_settings: Callable[..., Settings], moto_endpoint: str
) -> Callable[[str], Settings]:
    def _make(arn: str) -> Settings:
        settings = make_settings(
            database_secret_arn=arn,
            aws_endpoint_url=moto_endpoint,
            database_url="sqlite:///ignored-when-a-secret-is-set.db",
        )
        secret_credentials.cache_clear()
        dispose_engine(close=True)
        return settings

    return _make


def test_secret_credentials_connect_and_are_read_once(secret, secret_settings) -> None:
    settings = secret_settings(secret())
    for _ in range(3):
        with session_scope() as session:
            assert session.execute(text("SELECT current_database()")).scalar()
    dispose_engine(close=True)  # new physical connections, same cached credentials
    with session_scope() as session:
        session.execute(text("SELECT 1"))
    assert secret_credentials(settings.database_secret_arn).fetch_count == 1


def test_rotated_credentials_are_re_read_once_on_authentication_failure(
    secret, secret_settings, caplog: pytest.LogCaptureFixture
) -> None:
    # The process cached credentials that rotation has since replaced.
    arn = secret(username="rotated_away_user")
    settings = secret_settings(arn)
    provider = secret_credentials(arn)
    provider.current()
    secret()  # rotation writes the new credentials
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="app")
    with session_scope() as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
    assert provider.fetch_count == 2
    assert settings.database_secret_arn == arn
    assert "re-reading it once" in caplog.text
    assert PASSWORD not in caplog.text


def test_credentials_still_rejected_after_one_refresh_raise(secret, secret_settings) -> None:
    arn = secret(username="no_such_user_anywhere")
    secret_settings(arn)
    with pytest.raises(OperationalError), session_scope() as session:
        session.execute(text("SELECT 1"))
    assert secret_credentials(arn).fetch_count == 2  # one read, one refresh, no loop


def test_password_never_in_reprs_or_errors(secret, secret_settings) -> None:
    settings = secret_settings(secret())
    credentials = secret_credentials(settings.database_secret_arn).current()
    assert credentials.password == PASSWORD
    assert PASSWORD not in repr(credentials)
    assert PASSWORD not in repr(secret_credentials(settings.database_secret_arn))
    assert PASSWORD not in repr(get_engine())
    with pytest.raises(CredentialsError) as raised:
        DatabaseCredentials.from_secret_string(json.dumps({"password": PASSWORD}))
    assert PASSWORD not in str(raised.value)


def test_database_url_password_stays_out_of_settings_and_engine_repr(make_settings) -> None:
    settings = make_settings(database_url=f"postgresql://app:{PASSWORD}@db.internal:5432/app")
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in repr(get_engine())
    assert get_engine().url.drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('FATAL:  password authentication failed for user "app"', True),
        ('FATAL:  role "app_old" does not exist', True),
        ('FATAL:  database "nope" does not exist', False),
        ("connection refused", False),
    ],
)
def test_authentication_failures_are_told_apart(message: str, expected: bool) -> None:
    assert is_authentication_failure(RuntimeError(message)) is expected
