"""Database credentials from Secrets Manager: cached per process, refreshed once on rejection.

The secret is the JSON RDS writes (`host`, `port`, `username`, `password`,
`dbname`). The password never reaches a log line, a repr or an error message.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from app.aws import aws_client

logger = logging.getLogger(__name__)

# Postgres sends no SQLSTATE before a session exists, so the wording is what is left:
# a wrong password, or a user that rotation renamed or dropped.
_AUTHENTICATION_FAILURE = re.compile(
    r"authentication failed|role \".*\" does not exist|no pg_hba\.conf entry", re.IGNORECASE
)


class CredentialsError(RuntimeError):
    """The secret could not be read or does not hold usable database credentials."""


@dataclass(frozen=True)
class DatabaseCredentials:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    dbname: str

    @classmethod
    def from_secret_string(cls, secret_string: str) -> DatabaseCredentials:
        try:
            value = json.loads(secret_string)
            return cls(
                host=str(value["host"]),
                port=int(value.get("port", 5432)),
                username=str(value["username"]),
                password=str(value["password"]),
                dbname=str(value.get("dbname") or value.get("dbName") or "postgres"),
            )
        except (ValueError, KeyError, TypeError) as error:
            # The message names what is missing, never the secret's content.
            raise CredentialsError(
                f"database secret is not JSON with host/port/username/password/dbname "
                f"({type(error).__name__})"
            ) from None

    def connect_params(self) -> dict[str, Any]:
        """Keyword arguments for psycopg.connect."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.username,
            "password": self.password,
            "dbname": self.dbname,
        }


def is_authentication_failure(error: BaseException) -> bool:
    return bool(_AUTHENTICATION_FAILURE.search(str(error)))


class SecretCredentials:
    """The credentials in one secret, read on first use and again only when asked to refresh."""

    def __init__(self, *, secret_arn: str) -> None:
        self.secret_arn = secret_arn
        self.fetch_count = 0
        self._cached: DatabaseCredentials | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SecretCredentials(secret_arn={self.secret_arn!r})"

    def current(self) -> DatabaseCredentials:
        with self._lock:
            if self._cached is None:
                self._cached = self._fetch()
            return self._cached

    def refresh(self, *, stale: DatabaseCredentials | None = None) -> DatabaseCredentials:
        """Read the secret again, unless another thread already replaced `stale`."""
        with self._lock:
            if self._cached is None or self._cached is stale:
                self._cached = self._fetch()
                logger.warning("database credentials re-read from secret %s", self.secret_arn)
            return self._cached

    def _fetch(self) -> DatabaseCredentials:
        self.fetch_count += 1
        try:
            response = aws_client("secretsmanager").get_secret_value(SecretId=self.secret_arn)
        except Exception as error:
            raise CredentialsError(
                f"cannot read database secret {self.secret_arn}: {type(error).__name__}"
            ) from error
        return DatabaseCredentials.from_secret_string(response["SecretString"])


@cache
def secret_credentials(secret_arn: str) -> SecretCredentials:
    """One cache per secret per process."""
    return SecretCredentials(secret_arn=secret_arn)
