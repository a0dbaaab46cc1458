"""Every network call's bounds, in one place: the settings turned into what each library takes.

The numbers are settings, chosen from measured and published service times (docs/operations.md,
"Timeouts", has the table); this module hands them to botocore (our clients and kombu's SQS
clients), psycopg and Postgres, and redis (the events bus). What each bound costs at worst:

- an AWS call: `aws_max_attempts` x (connect + read timeout) plus botocore's jittered backoff;
- a database statement: the server cancels it after the statement timeout, and the client
  gives up on a connection that has not answered for `DATABASE_NO_ANSWER_MARGIN_S` more (a
  server, or a network path, that went silent); a new connection waits the connect timeout;
- an events bus call: its connect or socket timeout, one attempt (worker/monitoring/bus.py).
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from app.settings import Settings

# After the statement timeout, the server's cancellation arrives at once; this much longer
# without a byte means the connection is dead, whatever the server is doing.
DATABASE_NO_ANSWER_MARGIN_S = 2.0
# A transaction left open by a client that died (or hung) holds its row locks until this.
IDLE_IN_TRANSACTION_TIMEOUT_S = 60
# Idle pooled connections are probed so a peer that vanished is noticed: first probe after 30 s
# of silence, then every 10 s, 3 unanswered probes and the kernel drops the connection.
TCP_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def aws_client_options(settings: Settings) -> dict[str, Any]:
    """botocore Config arguments, as a dict: kombu's `client-config` transport option takes it."""
    return {
        "connect_timeout": settings.aws_connect_timeout_seconds,
        "read_timeout": settings.aws_read_timeout_seconds,
        # Standard mode retries throttling, 5xx and connection errors with jittered backoff.
        "retries": {"mode": "standard", "total_max_attempts": settings.aws_max_attempts},
    }


def aws_client_config(settings: Settings) -> Config:
    return Config(**aws_client_options(settings))


def database_no_answer_seconds(settings: Settings) -> float:
    return settings.database_statement_timeout_seconds + DATABASE_NO_ANSWER_MARGIN_S


def postgres_connect_args(settings: Settings) -> dict[str, Any]:
    """psycopg connection options: TLS, the connect timeout, the server-side timeouts,
    keepalives."""
    statement_ms = int(settings.database_statement_timeout_seconds * 1000)
    idle_ms = IDLE_IN_TRANSACTION_TIMEOUT_S * 1000
    return {
        **postgres_tls_args(settings),
        "connect_timeout": settings.database_connect_timeout_seconds,
        "options": (
            f"-c statement_timeout={statement_ms} -c idle_in_transaction_session_timeout={idle_ms}"
        ),
        # Data sent and not acknowledged by the peer for this long aborts the connection.
        "tcp_user_timeout": int(database_no_answer_seconds(settings) * 1000),
        **TCP_KEEPALIVES,
    }


def postgres_tls_args(settings: Settings) -> dict[str, str]:
    """libpq's sslmode, and the CA bundle that verifies the server when one is set."""
    args: dict[str, str] = {"sslmode": settings.database_sslmode}
    if settings.database_sslrootcert is not None:
        args["sslrootcert"] = str(settings.database_sslrootcert)
    return args


def events_bus_options(settings: Settings) -> dict[str, Any]:
    """kombu redis transport options for the events bus: one attempt, bounded sockets."""
    return {
        # One connection attempt per use: the worker's link retries on its own schedule
        # (worker/monitoring/link.py) and a CLI call should fail fast, not retry forever.
        "max_retries": 0,
        "socket_connect_timeout": settings.events_bus_connect_timeout_seconds,
        # Above the redis transport's 1 s BRPOP, so reply queues can block that long.
        "socket_timeout": settings.events_bus_timeout_seconds,
    }
