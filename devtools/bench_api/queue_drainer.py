"""A stand-in for the worker fleet: receives and deletes messages while the load runs.

moto_server's SendMessage slows down as its queue grows (25 ms a message on an
empty queue, 96 ms at 2000 on the development machine), which real SQS does
not; consuming during the run keeps the emulator's queue short, as workers
would keep SQS's. Every message is decoded the way Celery's SQS transport does.
SQS delivers at least once (and moto_server, under concurrent receives, does
deliver a message twice now and then), so messages are told apart by MessageId.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from devtools.bench_api.environment import Environment


def decode(body: str) -> dict[str, Any]:
    """An SQS body -> Celery task name and args (base64 envelope, base64 JSON body)."""
    envelope = json.loads(base64.b64decode(body))
    args = json.loads(base64.b64decode(envelope["body"]))[0]
    return {"task": envelope["headers"]["task"], "args": args}


class QueueDrainer:
    def __init__(self, env: Environment, *, threads: int = 2) -> None:
        self.env = env
        self.sqs = env.sqs()  # boto3 clients are thread-safe
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"queue-drainer-{number}", daemon=True)
            for number in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop_and_collect(self) -> list[dict[str, Any]]:
        """Stop consuming; then take what is left, until the queue answers empty."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        while self.drain_once():
            pass
        return self.messages

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.drain_once()

    def drain_once(self) -> int:
        batch = self.sqs.receive_message(
            QueueUrl=self.env.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=300,
        ).get("Messages", [])
        if not batch:
            return 0
        decoded = [
            {**decode(message["Body"]), "message_id": message["MessageId"]} for message in batch
        ]
        with self._lock:
            self.messages.extend(decoded)
        self.sqs.delete_message_batch(
            QueueUrl=self.env.queue_url,
            Entries=[
                {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                for number, message in enumerate(batch)
            ],
        )
        return len(batch)
