"""One fault stack per test module: its own database, queue and bucket, proxies, and processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app.migrate import upgrade
from app.settings import Settings
from devtools.local_aws import create_local_infrastructure
from tests import servers
from tests.app_stack import API_KEY, Infrastructure
from tests.conftest import AWS_TEST_ENV
from tests.faults.proxy import FaultProxy
from tests.servers import REDIS_URL
from tests.worker.integration.faults.stack import (
    SCALED_SETTINGS,
    FaultStack,
    Proxies,
    start_stack,
    stop_stack,
)

POSTGRES_PORT = 5432
REDIS_PORT = int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture(scope="module")
def fault_stack(
    moto_endpoint: str, model_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    """The worker, beat and the API behind four proxies, shared by a module's tests, so that
    one worker process lives through all of its faults."""
    logs = tmp_path_factory.mktemp("fault-stack")
    suffix = uuid.uuid4().hex[:8]
    moto_port = int(moto_endpoint.rsplit(":", 1)[1])
    proxies = Proxies(
        sqs=FaultProxy(moto_port, name="sqs", http=True).start(),
        s3=FaultProxy(moto_port, name="s3", http=True).start(),
        postgres=FaultProxy(POSTGRES_PORT, name="postgres").start(),
        bus=FaultProxy(REDIS_PORT, name="bus").start(),
    )
    with servers.postgres_database() as database_url, pytest.MonkeyPatch.context() as env:
        engine = create_engine(database_url)
        with engine.begin() as connection:
            upgrade(connection=connection)
        engine.dispose()
        test_env = {
            **AWS_TEST_ENV,
            **SCALED_SETTINGS,
            "ENVIRONMENT": "test",
            "API_KEY": API_KEY,
            "DATABASE_URL": database_url,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_REGION": "us-east-1",
            "IMAGES_BUCKET": f"faults-{suffix}",
            "IMAGE_PROCESSING_QUEUE_NAME": f"faults-{suffix}",
            "STORAGE_BACKEND": "s3",
            "BROKER_URL": "sqs://",
            "MODEL_CHAIN": "u2netp,u2net",
            "U2NET_HOME": str(model_home),
            "LOG_FORMAT": "text",
        }
        for name, value in test_env.items():
            env.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "EVENTS_BROKER_URL"):
            env.delenv(name, raising=False)
        settings = Settings()
        made = create_local_infrastructure(settings)
        infrastructure = Infrastructure(
            moto_endpoint,
            settings.images_bucket,
            settings.image_processing_queue_name,
            made["queue_url"],
            made["dlq_url"],
        )
        stack = start_stack(
            settings=settings,
            infrastructure=infrastructure,
            proxies=proxies,
            database_url=database_url,
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
