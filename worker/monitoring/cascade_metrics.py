"""The model cascade on Flower's /metrics: which model finished the recent jobs, how many escalated.

Read at scrape time from the tasks Flower keeps in memory (its last `max_tasks`, 10 000 by
default): each `process_image` task that succeeded carries its outcome (worker/job_runner.py)
as its result, `{'status': 'completed', 'model': 'u2netp', 'escalated': False, ...}`. A window
of recent jobs rather than a counter since start, because Flower's memory is that window; a
dashboard plots the ratio, an alarm watches it rise (a new kind of photo the fast model
doubts, a threshold set too low).
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

TASK_NAME = "worker.tasks.process_image"


def completed_job(result: str | None) -> tuple[str, bool] | None:
    """(model, escalated) from a task's result repr; None unless it is a completed job's."""
    try:
        outcome = ast.literal_eval(result or "")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(outcome, dict) or outcome.get("status") != "completed":
        return None
    model = outcome.get("model")
    return (model, bool(outcome.get("escalated"))) if isinstance(model, str) else None


class CascadeMetrics(Collector):
    """Gauges over the completed jobs among the tasks Flower holds (`events.state`)."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self._parsed: dict[str, tuple[str, bool] | None] = {}  # by task id: results never change

    def window(self) -> Counter[tuple[str, bool]]:
        seen: dict[str, tuple[str, bool] | None] = {}
        for task_id, task in list(self.state.tasks.items()):
            if task.name != TASK_NAME or task.state != "SUCCESS":
                continue
            seen[task_id] = (
                self._parsed[task_id] if task_id in self._parsed else completed_job(task.result)
            )
        self._parsed = seen  # forgets the tasks Flower has let go of
        return Counter(job for job in seen.values() if job is not None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.window()
        jobs = GaugeMetricFamily(
            "image_processor_recent_jobs",
            "Completed jobs among the tasks Flower holds, by the model that finished them "
            "and whether the cascade escalated",
            labels=["model", "escalated"],
        )
        for (model, escalated), count in sorted(counts.items()):
            jobs.add_metric([model, str(escalated).lower()], count)
        yield jobs
        total = sum(counts.values())
        escalations = sum(count for (_, escalated), count in counts.items() if escalated)
        ratio = GaugeMetricFamily(
            "image_processor_escalation_ratio",
            "Share of those jobs on which the cascade ran past its first model (0 when none)",
        )
        ratio.add_metric([], escalations / total if total else 0.0)
        yield ratio
