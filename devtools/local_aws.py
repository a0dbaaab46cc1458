"""What terraform makes in AWS, made on an emulator: the images bucket, the queue and its DLQ.

`create_local_infrastructure` is the one local creator, for every caller: the embedded stack
(`make demo`, `make up`), compose's one-shot `aws-setup` service, the load benchmark, ECS-local
(devtools/ecs_local.py) and the test fixtures that need a queue of their own. The values are
terraform's (terraform/sqs.tf, s3.tf and variables.tf; tests/deploy/test_local_infrastructure.py
checks that they agree), so a poison message takes as many deliveries to reach the DLQ locally
as in AWS. The API and the worker never create queues or buckets: that is the infrastructure's
job, and this module is dev tooling, kept out of the images.

    python -m devtools.local_aws     # from the settings in the environment; idempotent

Compose runs that line in the runtime image with ./devtools mounted read-only
(docker-compose.yml, service `aws-setup`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError

from app.settings import Settings, get_settings

log = logging.getLogger(__name__)

# As terraform's max_receive_count: deliveries of one message before SQS moves it to the DLQ.
MAX_RECEIVE_COUNT = 3
# As terraform/sqs.tf: 4 days on the queue, 14 on the DLQ (time to inspect and redrive), and
# long polling of 10 s, as kombu's wait_time_seconds.
QUEUE_RETENTION_SECONDS = 345600
DEAD_LETTER_RETENTION_SECONDS = 1209600
RECEIVE_WAIT_SECONDS = 10


def create_local_infrastructure(
    settings: Settings, *, max_receive_count: int = MAX_RECEIVE_COUNT
) -> dict[str, str]:
    """IMAGES_BUCKET (versioned), IMAGE_PROCESSING_QUEUE_NAME with SQS_VISIBILITY_TIMEOUT, and
    `<queue>-dlq` behind a redrive policy, on AWS_ENDPOINT_URL. Idempotent: a second run brings
    an existing queue's attributes in line. Tests that want a message in the DLQ sooner pass
    their own `max_receive_count`; everything else keeps terraform's."""
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
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
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


def wait_for_emulator(settings: Settings, attempts: int = 30) -> None:
    """Compose starts this beside the emulator: give it a few seconds to answer."""
    for _ in range(attempts):
        try:
            _client("sqs", settings).list_queues()
            return
        except EndpointConnectionError:
            time.sleep(1)
    raise SystemExit(f"the AWS emulator at {settings.aws_endpoint_url} did not answer")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    settings = get_settings()
    wait_for_emulator(settings)
    create_local_infrastructure(settings)


if __name__ == "__main__":
    main()
