"""What the simulation takes as given: measured on this project's machines, or stated with
its source. Each figure says which.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

# Measured by `make bench-e2e` (devtools/bench_end_to_end.py writes each job's service time);
# a copy of one run is kept here so `make capacity` runs without a benchmark first.
MEASURED_JOBS = Path(__file__).with_name("bench-e2e-jobs.json")

# Fargate, Linux/x86_64, us-east-1 list prices (docs/deployment.md, "Cost"): a worker task of
# 2 vCPU and 8 GB, on demand and on Spot (Spot varies; the figure of the time of writing).
TASK_HOUR_ON_DEMAND = 2 * 0.04048 + 8 * 0.004445
TASK_HOUR_SPOT = 2 * 0.012144 + 8 * 0.0013335


@dataclass(frozen=True)
class TaskStart:
    """From the service asking for a task to its pool processes taking messages."""

    # Assumed (no AWS here, and AWS publishes no figure): placing the task and attaching its
    # network interface before the pull begins. The ECS best-practices guide ("Speeding up
    # task launch") names the steps and puts the interface alone at "several seconds"; 30 s
    # for all of it. `make capacity --provisioning-s` shows what another figure changes.
    provisioning_s: float = 30.0
    # Measured: the worker image as a registry stores it (docs/deployment.md, the image table).
    # Fargate caches no image: every task pulls all of it (ECS developer guide, "Fargate
    # container image pull behavior").
    image_mb: float = 355.5
    # Assumed: an ECR pull in the same region through its VPC endpoint, layers unpacked as
    # they arrive, on a 2 vCPU task. `--pull-mb-per-s` to try another.
    pull_mb_per_s: float = 40.0
    # Measured: container start to models loaded in both pool processes (`worker_ready_s`).
    ready_s: float = 1.95

    @property
    def seconds(self) -> float:
        return self.provisioning_s + self.image_mb / self.pull_mb_per_s + self.ready_s


@dataclass(frozen=True)
class ServiceTimes:
    """The measured time one pool process spends per photo (claim to completion, S3 and the
    database included, escalations and rejected photos in their measured share), drawn at
    random with a seeded generator so runs repeat."""

    seconds: tuple[float, ...]
    processes_per_task: int = 3

    @classmethod
    def measured(cls, path: Path = MEASURED_JOBS) -> ServiceTimes:
        """The run's service times with its own pool size: a photo's time depends on how many
        processes shared the task's two cores while it ran."""
        run = json.loads(path.read_text())
        return cls(
            tuple(job["service_s"] for job in run["jobs"]),
            processes_per_task=int(run["summary"]["concurrency"]),
        )

    def draw(self, generator: random.Random) -> float:
        return generator.choice(self.seconds)

    @property
    def mean_s(self) -> float:
        return sum(self.seconds) / len(self.seconds)


@dataclass(frozen=True)
class SpotReclaims:
    """Spot reclaims: a task gets two minutes' warning (SIGTERM), finishes what it runs
    within its 120 s stop window, and ECS starts a replacement. Stated rate: AWS publishes no
    figure for Fargate Spot; 5 % of tasks an hour is the upper band of the Spot Instance
    Advisor's interruption frequencies, taken as a pessimistic constant."""

    per_task_hour: float = 0.05
    warning_s: float = 120.0
