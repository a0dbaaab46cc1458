"""The model against a measured run: bench-e2e's burst through one task, predicted and seen.

The replay takes the run's own arrivals (each job's created_at) and service times, one task
already started, no autoscaler: what is left to the model is how a task's pool processes take
messages from the queue. Several seeds, since a process draws its photos at random.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from devtools.capacity.fleet import FleetModel
from devtools.capacity.inputs import ServiceTimes, TaskStart
from devtools.capacity.replay import replay

SEEDS = range(20)


@dataclass(frozen=True)
class Validation:
    measured_drain_s: float
    predicted_drain_s: float

    @property
    def error(self) -> float:
        return self.predicted_drain_s / self.measured_drain_s - 1


def validate(jobs_file: Path, visibility_timeout_s: float) -> Validation:
    run = json.loads(jobs_file.read_text())
    arrivals = [job["created_s"] for job in run["jobs"]]
    model = FleetModel(
        start=TaskStart(provisioning_s=0.0, image_mb=0.0, ready_s=0.0),
        service=ServiceTimes.measured(jobs_file),
        reclaims=None,
        on_demand_base=1,
        visibility_timeout_s=visibility_timeout_s,
    )
    drains = [
        replay(arrivals, model=model, policy=None, initial_tasks=1, seed=seed).drain_s
        for seed in SEEDS
    ]
    return Validation(float(run["summary"]["drain_s"]), statistics.mean(drains))
