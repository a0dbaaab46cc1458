"""A message no worker can use (unreadable, or naming no job) ends in the dead-letter queue; the
queue keeps flowing."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from app.celery_client import get_celery_client, send_process_image
from app.celery_config import PROCESS_IMAGE_TASK
from app.models import JobStatus
from app.settings import Settings
from devtools.local_aws import create_local_infrastructure
from tests.app_stack import Infrastructure
from tests.corpus import book_photo
from tests.servers import wait_until
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker

pytestmark = [pytest.mark.model, pytest.mark.slow]

# Short, so SQS hands the poison back quickly; still above the hard time limit.
VISIBILITY_TIMEOUT_S = 20
MAX_RECEIVE_COUNT = 2


def _plain_text(_infrastructure: Infrastructure) -> str:
    """Not a kombu envelope at all: Celery sees a message with no task header."""
    return "this is not a Celery message"


def _task_with_corrupt_body(infrastructure: Infrastructure) -> str:
    """A genuine process_image envelope whose JSON body is cut short: it cannot be decoded."""
    send_process_image(job_id=uuid.uuid4(), book_id=1, image_id=1)
    [message] = infrastructure.receive_all()
    envelope = json.loads(base64.b64decode(message["Body"]))
    assert envelope["properties"]["body_encoding"] == "base64"
    envelope["body"] = base64.b64encode(b'[["3f2a", 1, 1], {}, {"callbacks": nu').decode()
    return base64.b64encode(json.dumps(envelope).encode()).decode()


def _task_with_args(infrastructure: Infrastructure, args: list[object]) -> str:
    """A well-formed process_image message whose arguments name no job."""
    get_celery_client().send_task(PROCESS_IMAGE_TASK, args=args, queue=infrastructure.queue_name)
    [message] = infrastructure.receive_all()
    return str(message["Body"])


def test_messages_no_worker_can_use_end_in_the_dead_letter_queue_and_others_complete(
    app_settings: Callable[..., Settings],
    model_home: Path,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    settings = app_settings(
        model_chain="u2netp,u2net",
        u2net_home=str(model_home),
        # The hard limit half the visibility timeout (the rule's floor); a photo takes ~2 s.
        task_soft_time_limit=VISIBILITY_TIMEOUT_S // 2 - 2,
        task_time_limit=VISIBILITY_TIMEOUT_S // 2,
        sqs_visibility_timeout=VISIBILITY_TIMEOUT_S,
        retry_backoff_max_seconds=VISIBILITY_TIMEOUT_S // 2,
    )
    # The one local creator brings the test's queue in line with these short values.
    create_local_infrastructure(settings, max_receive_count=MAX_RECEIVE_COUNT)
    sqs = infrastructure.sqs()
    poison = sorted(
        [
            _plain_text(infrastructure),
            _task_with_corrupt_body(infrastructure),
            # Once acknowledged and gone with one log line; rejected now, so SQS dead-letters them.
            _task_with_args(infrastructure, ["not-a-job-id", 1, 1]),
            _task_with_args(infrastructure, [str(uuid.uuid4())]),  # two arguments missing
        ]
    )
    for body in poison:
        sqs.send_message(QueueUrl=infrastructure.queue_url, MessageBody=body)
    buffer = io.BytesIO()
    book_photo().save(buffer, format="JPEG", quality=90)
    job_id = records.enqueue_direct(infrastructure, buffer.getvalue())

    worker = start_workers(settings)
    dead_letters: list[str] = []

    def _both_dead() -> bool:
        received = infrastructure.receive_all(queue_url=infrastructure.dlq_url)
        dead_letters.extend(str(message["Body"]) for message in received)
        return len(dead_letters) >= len(poison)

    wait_until(
        _both_dead,
        timeout=VISIBILITY_TIMEOUT_S * (MAX_RECEIVE_COUNT + 2) + 30,
        what="the poison messages to reach the dead-letter queue",
        processes=(worker.process,),
        interval=1.0,
    )
    assert sorted(dead_letters) == poison
    assert records.wait_for_jobs([job_id], worker=worker)[job_id].status is JobStatus.completed
    assert worker.alive()
    assert records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0}
