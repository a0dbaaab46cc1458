"""`image-processor dlq`: what is on the dead-letter queue, and moving it back to the work queue.

A message reaches `<queue>-dlq` after the work queue's redrive policy (maxReceiveCount
deliveries with no acknowledgement): poison no worker can decode (worker/dead_letters.py), or
a task whose workers died every time it ran. Looking receives the messages and makes them
visible again at once; SQS counts the look as a receive, so the count shown is the one before.

Redriving receives a batch, sends each message to the work queue with its body and message
attributes as they were, and deletes it from the dead-letter queue only once the send
succeeded. A message whose send failed stays on the dead-letter queue; one whose delete failed
after the send is on both queues, and the task's claim makes the second delivery harmless.
SQS's own StartMessageMoveTask does the same server-side, but moto_server does not implement
it, and this can be tested end to end over HTTP.

Every call is bounded by the AWS client's timeouts (app/aws.py) and by `limit`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from kombu.exceptions import DecodeError
from kombu.serialization import loads

from app.aws import aws_client
from app.celery_config import resolve_queue_url
from app.models import utc_now
from app.settings import Settings

log = logging.getLogger(__name__)

# SQS hands out at most 10 messages a call.
RECEIVE_BATCH = 10
# A short long poll: unlike a 0 s poll it asks every SQS server, so an empty answer means empty.
# Below the AWS read timeout (5 s by default), so the call is not cut short.
RECEIVE_WAIT_SECONDS = 1
# How long a looked-at message stays hidden if this process dies before making it visible again,
# and how long a redrive batch has for its send and delete (each at most the client's attempts
# times its connect + read timeouts: 14 s by default).
HOLD_SECONDS = 120


@dataclass(frozen=True)
class DeadLetter:
    """One message on the dead-letter queue, as far as it can be read."""

    message_id: str
    task: str | None
    job_id: str | None
    receive_count: int
    sent_at: datetime
    body_bytes: int
    problem: str | None  # why the task or the job could not be read

    def as_dict(self, *, now: datetime | None = None) -> dict[str, object]:
        return {
            "message_id": self.message_id,
            "task": self.task,
            "job_id": self.job_id,
            "receive_count": self.receive_count,
            "sent_at": self.sent_at.isoformat(),
            "age_seconds": round(((now or utc_now()) - self.sent_at).total_seconds(), 1),
            "body_bytes": self.body_bytes,
            "problem": self.problem,
        }


@dataclass
class RedriveReport:
    moved: list[str] = field(default_factory=list)  # message ids on the dead-letter queue
    failed: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"moved": len(self.moved), "failed": len(self.failed), "error": self.error}


def dead_letter_queue_url(settings: Settings) -> str:
    response = aws_client("sqs").get_queue_url(QueueName=settings.dead_letter_queue_name)
    return str(response["QueueUrl"])


def queue_depth(queue_url: str) -> int:
    """SQS's approximate count of visible messages on the queue."""
    attributes = aws_client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def show_dead_letters(*, settings: Settings, limit: int) -> list[DeadLetter]:
    """Up to `limit` messages, read and made visible again."""
    sqs, url = aws_client("sqs"), dead_letter_queue_url(settings)
    held: list[dict[str, Any]] = []
    try:
        while len(held) < limit:
            batch = _receive(url, min(RECEIVE_BATCH, limit - len(held)))
            if not batch:
                break
            held.extend(batch)
    finally:
        for start in range(0, len(held), RECEIVE_BATCH):
            entries = [
                {
                    "Id": str(index),
                    "ReceiptHandle": message["ReceiptHandle"],
                    "VisibilityTimeout": 0,
                }
                for index, message in enumerate(held[start : start + RECEIVE_BATCH])
            ]
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
    return [describe(message) for message in held]


def redrive_dead_letters(*, settings: Settings, limit: int) -> RedriveReport:
    """Move up to `limit` messages to the work queue; stop at the first that cannot be moved."""
    source, target = dead_letter_queue_url(settings), resolve_queue_url(settings)
    report = RedriveReport()
    while report.error is None and len(report.moved) + len(report.failed) < limit:
        batch = _receive(source, min(RECEIVE_BATCH, limit - len(report.moved) - len(report.failed)))
        if not batch:
            break
        _move(batch, source=source, target=target, report=report)
    return report


def _move(batch: list[dict[str, Any]], *, source: str, target: str, report: RedriveReport) -> None:
    """Send `batch` to `target`, then delete from `source` what was sent; failures in `report`."""
    sqs = aws_client("sqs")
    try:
        sent = sqs.send_message_batch(
            QueueUrl=target, Entries=[_resend(index, m) for index, m in enumerate(batch)]
        )
    except (BotoCoreError, ClientError) as error:
        # Not sent: the batch reappears on the dead-letter queue once HOLD_SECONDS pass.
        report.failed += [message["MessageId"] for message in batch]
        report.error = f"sending to the work queue failed: {type(error).__name__}: {error}"
        log.error("redrive: %s", report.error)
        return
    for entry in sent.get("Failed", []):
        report.failed.append(batch[int(entry["Id"])]["MessageId"])
        report.error = (
            f"the work queue refused a message: {entry.get('Code')} {entry.get('Message')}"
        )
        log.error("redrive: message %s: %s", batch[int(entry["Id"])]["MessageId"], report.error)
    done = [batch[int(entry["Id"])] for entry in sent.get("Successful", [])]
    report.moved += [message["MessageId"] for message in done]
    try:
        _delete(source, done)
    except (BotoCoreError, ClientError) as error:
        report.error = f"sent, but deleting from the dead-letter queue failed: {error}"
        log.error("redrive: %s; those messages will be delivered twice (harmless)", report.error)


def describe(message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("Attributes", {})
    task, job_id, problem = read_task(message["Body"])
    return DeadLetter(
        message_id=message["MessageId"],
        task=task,
        job_id=job_id,
        # SQS counted this look too.
        receive_count=max(0, int(attributes.get("ApproximateReceiveCount", "1")) - 1),
        sent_at=datetime.fromtimestamp(int(attributes.get("SentTimestamp", "0")) / 1000, UTC),
        body_bytes=len(message["Body"].encode()),
        problem=problem,
    )


def read_task(body: str) -> tuple[str | None, str | None, str | None]:
    """(task name, job id, problem) from a Celery message body as kombu's SQS transport sends
    it: a base64 envelope whose headers name the task and whose body's first argument is the
    job id."""
    try:
        envelope = json.loads(base64.b64decode(body, validate=True))
        task = envelope["headers"]["task"]
        raw = envelope["body"]
        if envelope["properties"].get("body_encoding") == "base64":
            raw = base64.b64decode(raw)
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None, None, "not a Celery message"
    try:
        args, _kwargs, _embed = loads(
            raw,
            envelope.get("content-type"),
            envelope.get("content-encoding"),
            accept={"application/json"},
        )
    except (DecodeError, ValueError, TypeError) as error:
        return task, None, f"body cannot be decoded ({type(error).__name__})"
    if not args:
        return task, None, "no arguments"
    return task, str(args[0]), None


def _receive(queue_url: str, count: int) -> list[dict[str, Any]]:
    response = aws_client("sqs").receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=count,
        WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
        VisibilityTimeout=HOLD_SECONDS,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def _resend(index: int, message: dict[str, Any]) -> dict[str, Any]:
    """The SendMessageBatch entry that puts `message` back as it was: body and attributes."""
    entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
    if message.get("MessageAttributes"):
        entry["MessageAttributes"] = message["MessageAttributes"]
    trace = message.get("Attributes", {}).get("AWSTraceHeader")
    if trace:
        entry["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": trace}
        }
    return entry


def _delete(queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Delete sent messages; one that cannot be deleted is on both queues (harmless, logged)."""
    if not messages:
        return
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    deleted = aws_client("sqs").delete_message_batch(QueueUrl=queue_url, Entries=entries)
    for entry in deleted.get("Failed", []):
        log.warning(
            "redrive: message %s sent but not deleted from the dead-letter queue (%s); "
            "it will be delivered twice, and its task's claim makes that harmless",
            messages[int(entry["Id"])]["MessageId"],
            entry.get("Message"),
        )
