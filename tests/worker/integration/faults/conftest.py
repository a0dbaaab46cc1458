"""One fault stack per test module: its own database, queue and bucket, proxies, and processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.environment import POSTGRES_PORT, stack_servers
from tests.faults.proxy import FaultProxy
from tests.servers import REDIS_URL
from tests.worker.integration.faults.stack import (
    SCALED_SETTINGS,
    FaultStack,
    Proxies,
    start_stack,
    stop_stack,
)

REDIS_PORT = int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture(scope="module")
def fault_stack(
    moto_endpoint: str, model_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    """The worker, beat and the API behind four proxies, shared by a module's tests, so that
    one worker process lives through all of its faults."""
    logs = tmp_path_factory.mktemp("fault-stack")
    moto_port = int(moto_endpoint.rsplit(":", 1)[1])
    proxies = Proxies(
        sqs=FaultProxy(moto_port, name="sqs", http=True).start(),
        s3=FaultProxy(moto_port, name="s3", http=True).start(),
        postgres=FaultProxy(POSTGRES_PORT, name="postgres").start(),
        bus=FaultProxy(REDIS_PORT, name="bus").start(),
    )
    with stack_servers(
        moto_endpoint,
        name="faults",
        **SCALED_SETTINGS,
        MODEL_CHAIN="u2netp,u2net",
        U2NET_HOME=str(model_home),
    ) as made:
        stack = start_stack(
            settings=made.settings,
            infrastructure=made.infrastructure,
            proxies=proxies,
            database_url=made.database_url,
            logs=logs,
        )
        try:
            yield stack
        finally:
            stop_stack(stack)
            for proxy in proxies.all():
                proxy.stop()
            for name in ("worker", "beat", "api"):
                path = logs / (f"{name}.log" if name != "worker" else stack.worker.log_path.name)
                if path.exists():
                    print(f"--- {name} ---\n{path.read_text(errors='replace')[-6000:]}")


@pytest.fixture
def stack(fault_stack: FaultStack) -> Iterator[FaultStack]:
    """The module's stack, healed and checked after each test, pass or fail."""
    fault_stack.check_processes()
    yield fault_stack
    fault_stack.proxies.heal()
