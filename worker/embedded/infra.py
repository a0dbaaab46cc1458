"""What terraform makes in AWS, made on an emulator: the bucket, the queue and its DLQ.

The one place the local stacks get them: the embedded stack (`make demo`), the compose stack's
one-shot setup (docker/local_setup.py) and the load test. The values are terraform's
(terraform/sqs.tf and variables.tf; tests/deploy checks that they agree). The API and the worker
never create queues; this is the infrastructure's job.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.exceptions import ClientError

from app.settings import Settings

log = logging.getLogger(__name__)

# As terraform's max_receive_count: deliveries of one message before SQS moves it to the DLQ.
MAX_RECEIVE_COUNT = 3
# As terraform/sqs.tf: 4 days on the queue, 14 on the DLQ (time to inspect and redrive), and
# long polling of 10 s, as kombu's wait_time_seconds.
QUEUE_RETENTION_SECONDS = 345600
DEAD_LETTER_RETENTION_SECONDS = 1209600
RECEIVE_WAIT_SECONDS = 10


def create_local_infrastructure(settings: Settings) -> dict[str, str]:
    """Bucket, queue and `<queue>-dlq` with a redrive policy; idempotent (a second run brings
    an existing queue's attributes in line)."""
    s3 = _client("s3", settings)
    sqs = _client("sqs", settings)
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if settings.images_bucket not in existing:
        s3.create_bucket(Bucket=settings.images_bucket)
    # As terraform/s3.tf: an overwritten or deleted original can be recovered.
    s3.put_bucket_versioning(
        Bucket=settings.images_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    dlq_url = sqs.create_queue(
        QueueName=settings.dead_letter_queue_name,
        Attributes={"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION_SECONDS)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes = {
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
        ),
        "VisibilityTimeout": str(settings.sqs_visibility_timeout),
        "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
        "ReceiveMessageWaitTimeSeconds": str(RECEIVE_WAIT_SECONDS),
    }
    try:
        queue_url = sqs.create_queue(
            QueueName=settings.image_processing_queue_name, Attributes=attributes
        )["QueueUrl"]
    except ClientError:  # exists with other attributes: bring them in line
        queue_url = sqs.get_queue_url(QueueName=settings.image_processing_queue_name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=attributes)
    log.info("local infrastructure ready: bucket %s, queue %s", settings.images_bucket, queue_url)
    return {"bucket": settings.images_bucket, "queue_url": queue_url, "dlq_url": dlq_url}


def _client(service: str, settings: Settings) -> Any:
    return boto3.client(
        service, endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region
    )
