"""Flower on the events bus sees the SQS worker and its tasks; the CLI reaches it over the bus."""

from __future__ import annotations

import httpx
import pytest

from tests.servers import wait_until
from tests.worker.flower.fleet import Fleet
from tests.worker.flower.monitoring_tasks import FAIL_TASK

pytestmark = pytest.mark.slow


def test_flower_lists_the_worker_online_and_each_task_with_its_final_state(fleet: Fleet) -> None:
    succeeded = [fleet.app.send_task("worker.tasks.smoke_test").id for _ in range(2)]
    failed = fleet.app.send_task(FAIL_TASK, args=["planned failure"]).id

    def finished() -> dict | None:
        tasks = fleet.flower_tasks()
        states = {task_id: tasks.get(task_id, {}).get("state") for task_id in [*succeeded, failed]}
        done = all(state in ("SUCCESS", "FAILURE") for state in states.values())
        return tasks if done else None

    tasks = wait_until(
        finished,
        timeout=60,
        what="Flower to record the three tasks",
        processes=(fleet.worker, fleet.flower),
    )
    assert fleet.flower_worker_online()
    for task_id in succeeded:
        task = tasks[task_id]
        assert task["state"] == "SUCCESS"
        assert task["worker"] == fleet.worker_name
        assert task["name"] == "worker.tasks.smoke_test"
        assert isinstance(task["runtime"], float)
        assert task["runtime"] > 0
    failure = tasks[failed]
    assert failure["state"] == "FAILURE"
    assert failure["worker"] == fleet.worker_name
    assert "planned failure" in failure["exception"]
    # Celery's task-failed event carries no runtime; its start and end times are there.
    assert failure["failed"] >= failure["started"] > 0


def test_inspect_ping_from_the_cli_answers_over_the_bus(fleet: Fleet) -> None:
    replies = fleet.inspect_json("ping")
    assert replies == {fleet.worker_name: {"ok": "pong"}}


def test_pool_grow_and_shrink_change_the_pool(fleet: Fleet) -> None:
    def pool_size() -> int:
        stats = fleet.app.control.inspect(destination=[fleet.worker_name], timeout=3).stats()
        return len((stats or {})[fleet.worker_name]["pool"]["processes"])

    before = pool_size()
    done = fleet.cli("control", "pool_grow", "1", "-d", fleet.worker_name, "--timeout", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pool will grow" in done.stdout
    wait_until(lambda: pool_size() == before + 1, timeout=20, what="the pool to grow")
    # The operator's view of it, through the CLI over the bus.
    assert len(fleet.inspect_json("stats")[fleet.worker_name]["pool"]["processes"]) == before + 1

    reply = fleet.app.control.pool_shrink(1, destination=[fleet.worker_name], reply=True)
    assert reply == [{fleet.worker_name: {"ok": "pool will shrink"}}]
    wait_until(lambda: pool_size() == before, timeout=20, what="the pool to shrink")


def test_rate_limit_reaches_the_worker(fleet: Fleet) -> None:
    reply = fleet.app.control.rate_limit(
        "worker.tasks.smoke_test", "100/s", destination=[fleet.worker_name], reply=True
    )
    assert reply == [{fleet.worker_name: {"ok": "new rate limit set successfully"}}]


def test_queue_and_dlq_depths_are_on_metrics_and_the_broker_api(fleet: Fleet) -> None:
    queue = fleet.env["IMAGE_PROCESSING_QUEUE_NAME"]

    def metrics_with_depths() -> str | None:
        text = fleet.flower_get("/metrics").text
        return text if "image_processor_sqs_messages" in text else None

    metrics = wait_until(metrics_with_depths, timeout=20, what="the SQS gauges on /metrics")
    for name, role in ((queue, "queue"), (f"{queue}-dlq", "dead_letter_queue")):
        assert (
            f'image_processor_sqs_messages{{queue="{name}",role="{role}",state="visible"}}'
            in metrics
        )
    assert "image_processor_sqs_depth_up 1.0" in metrics
    # The cascade's gauges (worker/monitoring/cascade_metrics.py): no image jobs ran here.
    assert "image_processor_escalation_ratio 0.0" in metrics
    lengths = fleet.flower_get("/api/queues/length").json()["active_queues"]
    assert [entry["name"] for entry in lengths] == [queue, f"{queue}-dlq"]
    # Publishing through Flower would land on the bus, where no worker listens.
    refused = httpx.post(
        f"{fleet.flower_url}/api/task/async-apply/worker.tasks.smoke_test",
        auth=fleet.credentials,
        json={},
        timeout=10,
    )
    assert refused.status_code == 403
