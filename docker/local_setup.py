"""One-shot setup of the local AWS emulator for docker compose: the images bucket, the task
queue and its dead-letter queue, made by the one local creator with terraform's values
(worker/embedded/infra.py).

Idempotent: a second run finds everything in place. Names and timeouts come from the app's
own settings (IMAGES_BUCKET, IMAGE_PROCESSING_QUEUE_NAME, SQS_VISIBILITY_TIMEOUT), so the
emulator holds exactly what the API and the worker will look up.
"""

from __future__ import annotations

import logging
import time

from botocore.exceptions import EndpointConnectionError

from app.aws import aws_client
from app.settings import get_settings
from worker.embedded.infra import create_local_infrastructure


def wait_for_emulator(attempts: int = 30) -> None:
    for _ in range(attempts):
        try:
            aws_client("sqs").list_queues()
            return
        except EndpointConnectionError:
            time.sleep(1)
    raise SystemExit("the AWS emulator did not answer")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    settings = get_settings()
    wait_for_emulator()
    create_local_infrastructure(settings)


if __name__ == "__main__":
    main()
