"""Deploy smoke test: send `worker.tasks.smoke_test` through the real queue and wait for a
worker's answer, {"version": ..., "models": [...]}, on the events bus.

The fleet keeps no result backend (the job table is the record), so the answer is read from
the `task-succeeded` event the worker publishes on EVENTS_BROKER_URL, the same bus Flower
reads. The deploy workflow runs this as a one-off ECS task of the new worker revision:

    python /opt/image-processor/smoke_test.py --timeout 600

Exit 0 when a worker answered with every model of MODEL_CHAIN loaded; 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import threading
import time
import uuid
from typing import Any

from celery import Celery

from app.celery_config import celery_config
from app.settings import get_settings

SMOKE_TEST_TASK = "worker.tasks.smoke_test"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds to wait; covers a worker fleet scaling out from zero",
    )
    parser.add_argument("--expect-version", default=None)
    args = parser.parse_args(argv)

    settings = get_settings()
    if settings.events_broker_url is None:
        print("smoke test: EVENTS_BROKER_URL is not set: no answer to read", file=sys.stderr)
        return 1

    publisher = Celery("smoke-test")
    publisher.conf.update(celery_config(settings))
    events = Celery("smoke-test-events", broker=settings.events_broker_url.get_secret_value())

    task_id = str(uuid.uuid4())
    outcome: dict[str, Any] = {}
    answered = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event.get("uuid") == task_id:
            outcome.update(event)
            answered.set()

    with events.connection_for_read() as connection:
        receiver = events.events.Receiver(
            connection, handlers={"task-succeeded": on_event, "task-failed": on_event}
        )
        threading.Thread(target=receiver.capture, kwargs={"wakeup": False}, daemon=True).start()
        time.sleep(2)  # let the receiver bind before the answer can arrive
        publisher.send_task(SMOKE_TEST_TASK, task_id=task_id)
        print(f"smoke test: sent {SMOKE_TEST_TASK} {task_id}, waiting up to {args.timeout:.0f} s")
        if not answered.wait(args.timeout):
            print("smoke test: no worker answered in time", file=sys.stderr)
            return 1

    if outcome.get("type") != "task-succeeded":
        print(f"smoke test: the task failed: {outcome.get('exception')}", file=sys.stderr)
        return 1
    answer = ast.literal_eval(outcome["result"])  # events carry repr(result)
    print("smoke test: answer " + json.dumps(answer))
    missing = set(settings.model_chain) - set(answer.get("models", []))
    if missing:
        print(f"smoke test: models not loaded: {sorted(missing)}", file=sys.stderr)
        return 1
    if args.expect_version and answer.get("version") != args.expect_version:
        print(
            f"smoke test: version {answer.get('version')!r}, expected {args.expect_version!r}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
