"""One-shot setup of the local AWS emulator for docker compose: the images bucket, the task
queue and its dead-letter queue with the same redrive policy terraform/sqs.tf creates.

Idempotent: a second run finds everything in place. Names and timeouts come from the app's
own settings (IMAGES_BUCKET, IMAGE_PROCESSING_QUEUE_NAME, SQS_VISIBILITY_TIMEOUT), so the
emulator holds exactly what the API and the worker will look up.
"""

from __future__ import annotations

import json
import logging
import time

from botocore.exceptions import ClientError, EndpointConnectionError

from app.aws import aws_client
from app.settings import get_settings

logger = logging.getLogger("local_setup")
MAX_RECEIVE_COUNT = 3  # as terraform's max_receive_count


def wait_for_emulator(attempts: int = 30) -> None:
    for _ in range(attempts):
        try:
            aws_client("sqs").list_queues()
            return
        except EndpointConnectionError:
            time.sleep(1)
    raise SystemExit("the AWS emulator did not answer")


def ensure_bucket(name: str) -> None:
    s3 = aws_client("s3")
    try:
        s3.head_bucket(Bucket=name)
        logger.info("bucket %s exists", name)
    except ClientError:
        s3.create_bucket(Bucket=name)
        logger.info("created bucket %s", name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def ensure_queues() -> None:
    settings = get_settings()
    sqs = aws_client("sqs")
    dead_letter_url = sqs.create_queue(
        QueueName=settings.dead_letter_queue_name,
        Attributes={"MessageRetentionPeriod": "1209600"},
    )["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(
        QueueUrl=dead_letter_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    attributes = {
        "VisibilityTimeout": str(settings.sqs_visibility_timeout),
        "ReceiveMessageWaitTimeSeconds": "10",
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
        ),
    }
    try:
        url = sqs.create_queue(
            QueueName=settings.image_processing_queue_name, Attributes=attributes
        )["QueueUrl"]
    except ClientError:  # exists with other attributes: bring them in line
        url = sqs.get_queue_url(QueueName=settings.image_processing_queue_name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    logger.info("queue %s (dead letters: %s)", url, dead_letter_url)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    settings = get_settings()
    wait_for_emulator()
    ensure_bucket(settings.images_bucket)
    ensure_queues()


if __name__ == "__main__":
    main()
