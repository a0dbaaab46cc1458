"""The worker's consumer: a message whose body cannot be decoded goes to the dead-letter queue.

Celery acknowledges such a message ("so it doesn't enter a loop"), and on SQS an
acknowledgement deletes it: the poison would vanish with one log line. Rejected
instead, kombu's SQS transport leaves it on a queue that has a redrive policy,
and SQS moves it to the dead-letter queue once it has been received
maxReceiveCount times, where an operator can look at it.
"""

from __future__ import annotations

import logging

from celery.worker.consumer import Consumer
from kombu.message import Message

log = logging.getLogger(__name__)


class DeadLetteringConsumer(Consumer):
    def on_decode_error(self, message: Message, exc: Exception) -> None:
        log.critical(
            "cannot decode message body (%s; content type %r, headers %r): rejected, so "
            "the SQS queue's redrive policy moves it to the dead-letter queue",
            exc,
            message.content_type,
            message.headers,
            exc_info=True,
        )
        message.reject_log_error(log, self.connection_errors)
