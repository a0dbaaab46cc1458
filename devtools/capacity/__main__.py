"""`make capacity`: the replay table, the model's validation, and (with --tune) the search
for the policy that meets the stated goals at the least cost. Prints the table, then one JSON
line."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devtools.capacity import policy as policies
from devtools.capacity import workloads
from devtools.capacity.fleet import FleetModel
from devtools.capacity.inputs import MEASURED_JOBS, ServiceTimes, SpotReclaims, TaskStart
from devtools.capacity.replay import Outcome, replay
from devtools.capacity.tuning import GOALS, tune
from devtools.capacity.validation import validate

WORKLOADS = {
    "one photo at idle": workloads.single,
    "burst of 100": lambda: workloads.burst(100),
    "burst of 1,000": lambda: workloads.burst(1_000),
    "burst of 10,000": lambda: workloads.burst(10_000),
    "burst of 100,000": lambda: workloads.burst(100_000),
    "a day (10,000, one 2,000 import)": workloads.day,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.capacity", description=__doc__)
    parser.add_argument("--env", default="prod", help="terraform/environments/<env>.tfvars")
    parser.add_argument("--jobs", type=Path, default=MEASURED_JOBS, help="bench-e2e's jobs")
    parser.add_argument("--provisioning-s", type=float, default=TaskStart.provisioning_s)
    parser.add_argument("--pull-mb-per-s", type=float, default=TaskStart.pull_mb_per_s)
    parser.add_argument("--metric-delay-s", type=float, default=60.0)
    parser.add_argument("--reclaims-per-task-hour", type=float, default=0.05)
    parser.add_argument("--tune", action="store_true", help="search policies for the goals")
    arguments = parser.parse_args(argv)

    policy = policies.load(arguments.env)
    start = TaskStart(
        provisioning_s=arguments.provisioning_s, pull_mb_per_s=arguments.pull_mb_per_s
    )
    service = ServiceTimes.measured(arguments.jobs)
    spot = FleetModel.under(policy, start, service, SpotReclaims(arguments.reclaims_per_task_hour))
    on_demand = FleetModel.under(policy, start, service, None)

    rows = {}
    for name, arrivals in WORKLOADS.items():
        photos = arrivals()
        rows[name] = (
            replay(photos, model=on_demand, policy=policy, metric_delay_s=arguments.metric_delay_s),
            replay(photos, model=spot, policy=policy, metric_delay_s=arguments.metric_delay_s),
        )
    checked = validate(arguments.jobs, policy.visibility_timeout_s)
    console = Console(width=150)
    console.print(_table(policy, start, rows))
    console.print(
        f"validation: bench-e2e drained {checked.measured_drain_s:.1f} s through one task; "
        f"the model predicts {checked.predicted_drain_s:.1f} s ({checked.error:+.1%})"
    )
    report = {
        "environment": arguments.env,
        "policy": asdict(policy),
        "task_start_s": round(start.seconds, 1),
        "service_mean_s": round(service.mean_s, 3),
        "validation": {
            "measured_drain_s": checked.measured_drain_s,
            "predicted_drain_s": round(checked.predicted_drain_s, 2),
            "error": round(checked.error, 4),
        },
        "workloads": {name: _figures(*outcomes) for name, outcomes in rows.items()},
    }
    if arguments.tune:
        best, candidates = tune(policy, spot, metric_delay_s=arguments.metric_delay_s)
        console.print(f"goals: {GOALS}")
        console.print(f"{candidates} policies tried; best: {best}")
        report["tuned"] = best
    print(json.dumps(report))
    return 0


def _figures(on_demand: Outcome, spot: Outcome) -> dict[str, float]:
    return {
        "drain_s": round(spot.drain_s, 1),
        "p50_s": round(spot.p50_s, 1),
        "p95_s": round(spot.p95_s, 1),
        "peak_tasks": spot.peak_tasks,
        "task_hours": round(spot.task_hours_on_demand + spot.task_hours_spot, 2),
        "cost_on_demand_usd": round(on_demand.cost, 3),
        "cost_with_spot_usd": round(spot.cost, 3),
        "reclaimed": spot.reclaimed,
        "redelivered": spot.redelivered,
    }


def _table(policy: policies.ScalingPolicy, start: TaskStart, rows: dict) -> Table:
    table = Table(
        title=(
            f"{policy.environment}: 0-{policy.max_tasks} tasks, {policy.backlog_per_task} messages "
            f"a task, task start {start.seconds:.0f} s"
        )
    )
    for column in (
        "workload",
        "drain",
        "p50",
        "p95",
        "peak tasks",
        "task-hours",
        "on demand",
        "with Spot",
        "reclaims",
    ):
        table.add_column(column, justify="left" if column == "workload" else "right")
    for name, (on_demand, spot) in rows.items():
        table.add_row(
            name,
            _duration(spot.drain_s),
            _duration(spot.p50_s),
            _duration(spot.p95_s),
            str(spot.peak_tasks),
            f"{spot.task_hours_on_demand + spot.task_hours_spot:.2f}",
            f"${on_demand.cost:.3f}",
            f"${spot.cost:.3f}",
            str(spot.reclaimed),
        )
    return table


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    raise SystemExit(main())
