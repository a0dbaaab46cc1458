"""The API's thin Celery client: publishes tasks by name, never imports worker code.

Built on first use from app.celery_config (the queue URL is resolved then), and
rebuilt on the next publish if building failed, so an API that started while
SQS was unreachable recovers on its own.
"""

from __future__ import annotations

import logging
import threading
import uuid

from celery import Celery

from app.celery_config import PROCESS_IMAGE_TASK, celery_config
from app.settings import get_settings

logger = logging.getLogger(__name__)

# A request must not hang on a dead broker: botocore already retries each SendMessage with
# backoff (AWS_MAX_ATTEMPTS, app/timeouts.py), so kombu adds no retries of its own on top;
# a publish that failed leaves the job queue_failed and the beat sweep publishes it later.
PUBLISH_RETRY_POLICY = {"max_retries": 0}

# Publishing connections kept open. The API publishes from up to 40 threads (the thread
# pool of sync routes); with Celery's default of 10, a burst of requests queues for a
# connection and the slowest waits seconds. Each connection holds one boto3 SQS client.
BROKER_POOL_LIMIT = 32

_lock = threading.Lock()
_client: Celery | None = None


def build_celery_client() -> Celery:
    settings = get_settings()
    client = Celery("image-processor-api", set_as_current=False)
    client.conf.update(celery_config(settings))
    client.conf.task_publish_retry_policy = PUBLISH_RETRY_POLICY
    client.conf.broker_pool_limit = BROKER_POOL_LIMIT
    return client


def get_celery_client() -> Celery:
    global _client
    with _lock:
        if _client is None:
            _client = build_celery_client()
        return _client


def reset_celery_client() -> None:
    """Close and forget the client (after a fork, at shutdown, or when tests change settings)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None


def send_process_image(*, job_id: uuid.UUID, book_id: int, image_id: int) -> str:
    """Publish process_image(job_id, book_id, image_id) on the SQS queue; the message id."""
    client = get_celery_client()
    result = client.send_task(
        PROCESS_IMAGE_TASK,
        args=[str(job_id), book_id, image_id],
        queue=get_settings().image_processing_queue_name,
    )
    logger.info("job %s: published %s as message %s", job_id, PROCESS_IMAGE_TASK, result.id)
    return str(result.id)
