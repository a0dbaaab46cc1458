"""What terraform makes in AWS, made on an emulator: the bucket, the queue and its DLQ.

Used by the embedded stack (`make demo`) against moto_server. The API and the
worker never create queues; this is the infrastructure's job.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

from app.settings import Settings

log = logging.getLogger(__name__)

# As in terraform/sqs.tf: a message that failed this many receives goes to the DLQ.
MAX_RECEIVE_COUNT = 5


def create_local_infrastructure(settings: Settings) -> dict[str, str]:
    """Bucket, queue and `<queue>-dlq` with a redrive policy; idempotent."""
    s3 = _client("s3", settings)
    sqs = _client("sqs", settings)
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if settings.images_bucket not in existing:
        s3.create_bucket(Bucket=settings.images_bucket)
    dlq_url = sqs.create_queue(QueueName=settings.dead_letter_queue_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    queue_url = sqs.create_queue(
        QueueName=settings.image_processing_queue_name,
        Attributes={
            "RedrivePolicy": json.dumps(redrive),
            "VisibilityTimeout": str(settings.sqs_visibility_timeout),
        },
    )["QueueUrl"]
    log.info("local infrastructure ready: bucket %s, queue %s", settings.images_bucket, queue_url)
    return {"bucket": settings.images_bucket, "queue_url": queue_url, "dlq_url": dlq_url}


def _client(service: str, settings: Settings) -> Any:
    return boto3.client(
        service, endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region
    )
