"""Deploy smoke test: send `worker.tasks.smoke_test` through the real queue and wait for a
worker's answer, {"version", "commit", "models", "hostname"}, on the events bus.

The fleet keeps no result backend (the job table is the record), so the answer is read from
the `task-succeeded` event the worker publishes on EVENTS_BROKER_URL, the same bus Flower
reads. The deploy workflow runs this as a one-off ECS task of the new worker revision:

    python /opt/image-processor/smoke_test.py --timeout 900 --expect-commit <sha>

Exit 0 when a worker of the deployed commit answered with every model of MODEL_CHAIN loaded;
1 otherwise. The commit matters: a worker of the previous revision still consuming the queue
would answer just as well, and its answer proves nothing about the new one.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from celery import Celery

from app.celery_config import celery_config
from app.settings import get_settings

SMOKE_TEST_TASK = "worker.tasks.smoke_test"


def verdict(
    answer: dict[str, Any], expected_models: Iterable[str], expected_commit: str | None
) -> list[str]:
    """What is wrong with a worker's answer; empty when the deploy may go on.

    `expected_commit` None skips the commit check (a local image built without BUILD_COMMIT);
    an answer without a "commit" comes from a worker older than the check, so it fails it.
    """
    problems = []
    missing = sorted(set(expected_models) - set(answer.get("models", [])))
    if missing:
        problems.append(f"models not loaded: {missing}")
    if expected_commit is not None and answer.get("commit") != expected_commit:
        problems.append(
            f"the answering worker runs commit {answer.get('commit')!r}, "
            f"expected {expected_commit!r}"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds to wait; covers a worker fleet scaling out from zero",
    )
    parser.add_argument(
        "--expect-commit",
        default=None,
        help="the commit the answering worker must run (its image's BUILD_COMMIT)",
    )
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
    problems = verdict(answer, settings.model_chain, args.expect_commit)
    for problem in problems:
        print(f"smoke test: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
