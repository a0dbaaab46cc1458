"""A monitored fleet shared by the Flower tests: worker and Flower on the machine's Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests import servers
from tests.worker.flower.fleet import Fleet, running_fleet

# A database of its own on the shared Redis: the bus's pub/sub channels carry the
# database number, so other users of 127.0.0.1:6379 neither see nor disturb these.
EVENTS_BUS_DB = 12


@pytest.fixture(scope="package")
def shared_bus_url() -> str:
    url = f"{servers.REDIS_URL}/{EVENTS_BUS_DB}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis for the events bus is not reachable at {url} ({error}); "
            "`make services` starts it"
        )
    return url


@pytest.fixture(scope="package")
def fleet(
    moto_endpoint: str,
    shared_bus_url: str,
    model_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Fleet]:
    logs = tmp_path_factory.mktemp("fleet")
    with running_fleet(moto_endpoint=moto_endpoint, bus_url=shared_bus_url, logs=logs) as fleet:
        yield fleet
