"""Flower's cascade gauges, from the task events Flower's state is built of."""

from __future__ import annotations

import time
import uuid

from celery.events.state import State
from prometheus_client import CollectorRegistry, generate_latest

from worker.monitoring.cascade_metrics import TASK_NAME, CascadeMetrics, completed_job


def finish(state: State, result: object, *, name: str = TASK_NAME, failed: bool = False) -> str:
    """One task's events as a worker sends them: received, started, then its end."""
    task_id = str(uuid.uuid4())
    now = time.time()
    common = {"uuid": task_id, "hostname": "celery@worker-1", "local_received": now, "clock": 1}
    state.event({"type": "task-received", "name": name, "timestamp": now, **common})
    state.event({"type": "task-started", "timestamp": now, **common})
    if failed:
        state.event({"type": "task-failed", "exception": "boom", "timestamp": now, **common})
    else:
        state.event(
            {"type": "task-succeeded", "result": repr(result), "runtime": 1.0, "timestamp": now}
            | common
        )
    return task_id


def outcome(model: str, *, escalated: bool, status: str = "completed") -> dict[str, object]:
    return {"job_id": str(uuid.uuid4()), "status": status, "model": model, "escalated": escalated}


def scrape(state: State) -> str:
    registry = CollectorRegistry()
    registry.register(CascadeMetrics(state))
    return generate_latest(registry).decode()


def test_the_window_counts_completed_jobs_by_model_and_escalation() -> None:
    state = State()
    for _ in range(3):
        finish(state, outcome("u2netp", escalated=False))
    finish(state, outcome("u2net", escalated=True))
    finish(state, outcome("u2netp", escalated=True))  # escalated, but the big model failed
    finish(state, outcome("u2netp", escalated=False, status="failed"))  # a failed job
    finish(state, {"status": "completed"}, name="worker.tasks.smoke_test")  # another task
    finish(state, None, failed=True)  # a task that raised

    text = scrape(state)
    assert 'image_processor_recent_jobs{escalated="false",model="u2netp"} 3.0' in text
    assert 'image_processor_recent_jobs{escalated="true",model="u2net"} 1.0' in text
    assert 'image_processor_recent_jobs{escalated="true",model="u2netp"} 1.0' in text
    assert "image_processor_escalation_ratio 0.4" in text


def test_no_jobs_is_a_ratio_of_zero_not_an_error() -> None:
    text = scrape(State())
    assert "image_processor_escalation_ratio 0.0" in text
    assert "image_processor_recent_jobs{" not in text


def test_tasks_flower_forgets_leave_the_window() -> None:
    state = State(max_tasks_in_memory=2)
    metrics = CascadeMetrics(state)
    finish(state, outcome("u2net", escalated=True))
    assert metrics.window() == {("u2net", True): 1}
    finish(state, outcome("u2netp", escalated=False))
    finish(state, outcome("u2netp", escalated=False))
    assert metrics.window() == {("u2netp", False): 2}


def test_a_result_is_read_as_a_literal_never_evaluated() -> None:
    assert completed_job(repr(outcome("u2netp", escalated=True))) == ("u2netp", True)
    assert completed_job("__import__('os').system('true')") is None
    assert completed_job("{'status': 'completed', 'model': 'u2net'") is None  # cut short
    assert completed_job(None) is None
