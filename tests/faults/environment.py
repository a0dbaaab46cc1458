"""The servers a fault stack runs against: a migrated database of its own, a bucket and queue of
its own on moto_server, and the test process's environment set to reach them directly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine

from app.migrate import upgrade
from app.settings import Settings
from devtools.local_aws import create_local_infrastructure
from tests import servers
from tests.app_stack import API_KEY, Infrastructure
from tests.conftest import AWS_TEST_ENV

POSTGRES_PORT = 5432


@dataclass(frozen=True)
class StackServers:
    settings: Settings  # the test's own: straight to the servers
    infrastructure: Infrastructure
    database_url: str


@contextmanager
def stack_servers(moto_endpoint: str, *, name: str, **env: str) -> Iterator[StackServers]:
    """A database, bucket and queue named after `name`; the environment (and `env`) set for
    the test process until the block ends, the database dropped then."""
    suffix = f"{name}-{uuid.uuid4().hex[:8]}"
    with servers.postgres_database() as database_url, pytest.MonkeyPatch.context() as patch:
        engine = create_engine(database_url)
        with engine.begin() as connection:
            upgrade(connection=connection)
        engine.dispose()
        test_env = {
            **AWS_TEST_ENV,
            "ENVIRONMENT": "test",
            "API_KEY": API_KEY,
            "DATABASE_URL": database_url,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_REGION": "us-east-1",
            "IMAGES_BUCKET": suffix,
            "IMAGE_PROCESSING_QUEUE_NAME": suffix,
            "STORAGE_BACKEND": "s3",
            "BROKER_URL": "sqs://",
            "LOG_FORMAT": "text",
            **env,
        }
        for variable, value in test_env.items():
            patch.setenv(variable, value)
        for variable in ("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "EVENTS_BROKER_URL"):
            patch.delenv(variable, raising=False)
        settings = Settings()
        made = create_local_infrastructure(settings)
        infrastructure = Infrastructure(
            moto_endpoint,
            settings.images_bucket,
            settings.image_processing_queue_name,
            made["queue_url"],
            made["dlq_url"],
        )
        yield StackServers(settings, infrastructure, database_url)
