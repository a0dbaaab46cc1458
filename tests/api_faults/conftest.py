"""One API stack per test module: its own database, queue and bucket, proxies, and uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.api_faults.stack import ApiProxies, ApiStack, start_api
from tests.faults.environment import POSTGRES_PORT, stack_servers
from tests.faults.proxy import FaultProxy


@pytest.fixture(scope="module")
def api_stack(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    logs = tmp_path_factory.mktemp("api-stack")
    moto_port = int(moto_endpoint.rsplit(":", 1)[1])
    proxies = ApiProxies(
        s3=FaultProxy(moto_port, name="s3", http=True).start(),
        sqs=FaultProxy(moto_port, name="sqs", http=True).start(),
        postgres=FaultProxy(POSTGRES_PORT, name="postgres").start(),
    )
    with stack_servers(moto_endpoint, name="hostile") as made:
        process, port, api_env, spool = start_api(
            infrastructure=made.infrastructure,
            proxies=proxies,
            database_url=made.database_url,
            logs=logs,
        )
        stack = ApiStack(
            made.settings,
            made.infrastructure,
            proxies,
            made.database_url,
            api_env,
            logs,
            spool,
            process,
            port,
        )
        try:
            yield stack
        finally:
            servers.stop_process(process)
            for proxy in proxies.all():
                proxy.stop()
            log = Path(logs / "api.log")
            if log.exists():
                print(f"--- api ---\n{log.read_text(errors='replace')[-6000:]}")


@pytest.fixture
def api(api_stack: ApiStack) -> Iterator[ApiStack]:
    """The module's API, healed and checked alive after each test, pass or fail."""
    api_stack.alive()
    yield api_stack
    api_stack.proxies.heal()
    api_stack.alive()
