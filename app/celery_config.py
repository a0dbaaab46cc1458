"""Celery settings shared by the API's thin client and the worker.

The API publishes by task name through a Celery app built from this config and
never imports worker code; the worker extends the same config with its
execution settings (worker/celery_app.py).
"""

from __future__ import annotations

from typing import Any

from app.aws import aws_client
from app.settings import Settings
from app.timeouts import aws_client_options

PROCESS_IMAGE_TASK = "worker.tasks.process_image"


class QueueNotFoundError(RuntimeError):
    """The SQS queue the settings name does not exist; the infrastructure creates it."""


def resolve_queue_url(settings: Settings) -> str:
    """The queue's URL, looked up once by name (the infrastructure created it, with its DLQ)."""
    client = aws_client("sqs")
    try:
        response = client.get_queue_url(QueueName=settings.image_processing_queue_name)
    except client.exceptions.QueueDoesNotExist as error:
        raise QueueNotFoundError(
            f"SQS queue {settings.image_processing_queue_name!r} does not exist; "
            "it and its dead-letter queue are created by terraform (or the local setup), "
            "never by the API or the worker"
        ) from error
    return str(response["QueueUrl"])


def broker_transport_options(settings: Settings, queue_url: str) -> dict[str, Any]:
    return {
        "region": settings.aws_region,
        # Only this queue exists for Celery: kombu never creates a queue (a queue it
        # created would have no dead-letter queue) and never lists queues.
        "predefined_queues": {
            settings.image_processing_queue_name: {"url": queue_url},
        },
        # Hidden from other consumers while a worker holds it; above the hard
        # time limit so a running task is never handed out twice.
        "visibility_timeout": settings.sqs_visibility_timeout,
        # Long polling: one ReceiveMessage call waits up to 10 s for work instead
        # of spinning (cost and CPU on an idle fleet).
        "wait_time_seconds": 10,
        # The pause between receives. With prefetch 1 a worker fetches its next message
        # only after acking the last, so kombu's default 1 s idled the pool between tasks:
        # bench-e2e drained 0.795 images/s with 1 s and 0.908 with 0.1 s. Long polling
        # above still bounds the cost of an idle fleet.
        "polling_interval": 0.1,
        # kombu's blocking SQS calls (SendMessage, DeleteMessage, ChangeMessageVisibility) with
        # our timeouts and retries instead of botocore's 60 s defaults (app/timeouts.py). Its
        # asynchronous ReceiveMessage gives up after 20 s of its own.
        "client-config": aws_client_options(settings),
    }


def celery_config(settings: Settings) -> dict[str, Any]:
    """Broker and serialization settings; the queue URL is resolved here, lazily."""
    broker_url = settings.broker_url
    options: dict[str, Any] = {}
    if broker_url.startswith("sqs://"):
        options = broker_transport_options(settings, resolve_queue_url(settings))
    return {
        "broker_url": broker_url,
        "broker_transport_options": options,
        # Fail a publish quickly instead of blocking an API request for minutes.
        "broker_connection_timeout": 5,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": settings.image_processing_queue_name,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        # The job table is the record of every task; no result backend.
        "result_backend": None,
        "task_ignore_result": True,
        "enable_utc": True,
        "timezone": "UTC",
    }
