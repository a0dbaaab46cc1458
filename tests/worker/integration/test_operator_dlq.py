"""`image-processor dlq show` and `dlq redrive` against moto_server over HTTP: messages put on the
dead-letter queue by the queue's own redrive policy, looked at, and moved back as they were."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from app.celery_client import send_process_image
from app.celery_config import PROCESS_IMAGE_TASK
from app.models import JobStatus
from app.settings import Settings
from devtools.local_aws import MAX_RECEIVE_COUNT
from tests.app_stack import Infrastructure
from tests.corpus import book_photo
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker

CLI = [sys.executable, "-m", "worker.cli"]
POISON = "this is not a Celery message"
POISON_ATTRIBUTES = {"origin": {"DataType": "String", "StringValue": "a client of long ago"}}


def run_json(*args: str, expect: int = 0) -> Any:
    done = subprocess.run(
        [*CLI, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        check=False,
    )
    assert done.returncode == expect, done.stderr
    return json.loads(done.stdout)


def dead_letter_everything(infrastructure: Infrastructure) -> None:
    """Deliver every message on the work queue until SQS's redrive policy moves it to the DLQ,
    as a fleet whose workers die holding it would (each delivery unacknowledged)."""
    sqs = infrastructure.sqs()
    for _ in range(MAX_RECEIVE_COUNT + 2):
        received = sqs.receive_message(
            QueueUrl=infrastructure.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=0,
        ).get("Messages", [])
        if not received:
            return
    pytest.fail("the queue's redrive policy never moved the messages to the dead-letter queue")


def test_a_poison_message_is_shown_and_redriven_with_its_body_and_attributes(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    app_settings()
    sqs = infrastructure.sqs()
    sqs.send_message(
        QueueUrl=infrastructure.queue_url, MessageBody=POISON, MessageAttributes=POISON_ATTRIBUTES
    )
    job_id = str(uuid.uuid4())
    send_process_image(job_id=uuid.UUID(job_id), book_id=7, image_id=9)
    bodies = sorted(
        m["Body"]
        for m in sqs.receive_message(
            QueueUrl=infrastructure.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )["Messages"]
    )
    dead_letter_everything(infrastructure)
    assert records.queue_counts(infrastructure, infrastructure.dlq_url)["visible"] == 2

    shown = run_json("dlq", "show")
    assert shown["approximate_depth"] == 2
    by_task = {message["task"]: message for message in shown["messages"]}
    assert by_task.keys() == {PROCESS_IMAGE_TASK, None}
    assert by_task[PROCESS_IMAGE_TASK]["job_id"] == job_id
    assert by_task[None]["problem"] == "not a Celery message"
    for message in shown["messages"]:
        # Two deliveries before ours above, one each in dead_letter_everything, SQS's own last.
        assert message["receive_count"] >= MAX_RECEIVE_COUNT
        assert 0 <= message["age_seconds"] < 120
    # Looking leaves them there, at once visible again.
    assert len(run_json("dlq", "show")["messages"]) == 2
    assert run_json("dlq", "redrive", "--dry-run")["approximate_depth"] == 2
    assert records.queue_counts(infrastructure, infrastructure.dlq_url)["visible"] == 2

    assert run_json("dlq", "redrive") == {"moved": 2, "failed": 0, "error": None}
    assert records.queue_counts(infrastructure, infrastructure.dlq_url) == {
        "visible": 0,
        "in_flight": 0,
    }
    moved = sqs.receive_message(
        QueueUrl=infrastructure.queue_url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=0,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
    )["Messages"]
    assert sorted(message["Body"] for message in moved) == bodies
    [poison] = [message for message in moved if message["Body"] == POISON]
    assert poison["MessageAttributes"] == POISON_ATTRIBUTES
    # Back on the work queue as a new message: its deliveries counted from one again.
    assert {message["Attributes"]["ApproximateReceiveCount"] for message in moved} == {"1"}


def test_a_redrive_with_nothing_dead_lettered_moves_nothing(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    app_settings()
    assert run_json("dlq", "show") == {"approximate_depth": 0, "messages": []}
    assert run_json("dlq", "redrive") == {"moved": 0, "failed": 0, "error": None}


@pytest.mark.model
@pytest.mark.slow
def test_a_job_dead_lettered_in_an_outage_completes_once_redriven(
    worker_settings: Settings,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
) -> None:
    buffer = io.BytesIO()
    book_photo().save(buffer, format="JPEG", quality=90)
    job_id = records.enqueue_direct(infrastructure, buffer.getvalue())
    dead_letter_everything(infrastructure)
    [letter] = run_json("dlq", "show")["messages"]
    assert letter["job_id"] == job_id
    assert records.job(job_id).status is JobStatus.pending

    assert run_json("dlq", "redrive")["moved"] == 1
    worker = start_workers(worker_settings)
    assert records.wait_for_jobs([job_id], worker=worker)[job_id].status is JobStatus.completed
    counts = run_json("jobs", "--book", str(records.job(job_id).book_id))["counts"]
    assert counts == [{"status": "completed", "reason": None, "count": 1}]
