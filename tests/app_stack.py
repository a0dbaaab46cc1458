"""The app against real servers, for every test package: a migrated Postgres, the queue, its DLQ and
a bucket on moto_server, settings and the API client. A pytest plugin (tests/conftest.py).

The app never creates queues or buckets; these fixtures play the part of terraform.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.aws import reset_clients
from app.celery_client import reset_celery_client
from app.db import dispose_engine
from app.migrate import upgrade
from app.settings import Settings
from devtools.local_aws import create_local_infrastructure

API_KEY = "test-api-key-0123456789"


@dataclass(frozen=True)
class Infrastructure:
    """What terraform would have made: a bucket, the queue and its dead-letter queue."""

    endpoint: str
    bucket: str
    queue_name: str
    queue_url: str
    dlq_url: str

    def sqs(self) -> Any:
        return boto3.client("sqs", endpoint_url=self.endpoint, region_name="us-east-1")

    def s3(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def receive_all(self, *, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Every message now on the queue (received and deleted)."""
        sqs, url, messages = self.sqs(), queue_url or self.queue_url, []
        while True:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)
            for message in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _reset_process_state() -> None:
    dispose_engine(close=True)
    reset_clients()
    reset_celery_client()


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Each test builds its engine, boto3 clients and Celery client from its own settings."""
    _reset_process_state()
    yield
    _reset_process_state()


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str) -> str:
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        upgrade(connection=connection)
    engine.dispose()
    return postgres_url


@pytest.fixture
def database_url(migrated_postgres_url: str) -> str:
    """The session's migrated database, emptied for this test."""
    engine = create_engine(migrated_postgres_url)
    with engine.begin() as connection:
        connection.execute(
            text("TRUNCATE image_processing_jobs, book_images, books RESTART IDENTITY CASCADE")
        )
    engine.dispose()
    return migrated_postgres_url


@pytest.fixture
def infrastructure(moto_endpoint: str) -> Infrastructure:
    """A fresh bucket, queue and DLQ (with a redrive policy) for one test, as terraform makes
    them: by the one local creator, with terraform's values."""
    suffix = uuid.uuid4().hex[:8]
    queue_name, bucket = f"image-processing-{suffix}", f"images-{suffix}"
    made = create_local_infrastructure(
        Settings(
            aws_endpoint_url=moto_endpoint,
            aws_region="us-east-1",
            image_processing_queue_name=queue_name,
            images_bucket=bucket,
        )
    )
    return Infrastructure(moto_endpoint, bucket, queue_name, made["queue_url"], made["dlq_url"])


@pytest.fixture
def app_settings(
    make_settings: Callable[..., Settings],
    database_url: str,
    infrastructure: Infrastructure,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Settings]:
    """Settings for the app against the real servers; keyword arguments override (None unsets)."""

    def _make(**overrides: object) -> Settings:
        env: dict[str, object] = {
            "environment": "test",
            "api_key": API_KEY,
            "database_url": database_url,
            "aws_endpoint_url": infrastructure.endpoint,
            "images_bucket": infrastructure.bucket,
            "image_processing_queue_name": infrastructure.queue_name,
            "storage_backend": "s3",
            "broker_url": "sqs://",
            "log_format": "text",
        }
        env.update(overrides)
        for name in [name for name, value in env.items() if value is None]:
            monkeypatch.delenv(name.upper(), raising=False)
            del env[name]
        settings = make_settings(**env)
        _reset_process_state()
        return settings

    return _make


@pytest.fixture
def client(app_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """The API in-process with the real servers behind it, sending the right API key."""
    app_settings()
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}, raise_server_exceptions=False) as test:
        yield test
