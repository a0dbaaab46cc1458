"""The policy search: the scaling knobs terraform exposes, tried against stated goals.

Goals (an operator's, stated here and in docs/performance.md):
- a lone photo uploaded to an idle fleet at zero tasks is done within 3 minutes. Two minutes,
  the figure first asked for, is out of reach from zero: SQS's metrics come a minute at a
  time, the alarm sees a minute only after it ends, and a task then needs its start (see the
  one-photo row) before it takes the photo;
- an import of 10,000 photos is drained within 15 minutes of its first upload;
- an import of 100,000 is drained within 2 hours;
- over the day trace, 95 % of photos are done within 5 minutes of their upload;
- of the policies that meet all four, the cheapest over the day trace and the 10,000 import.
"""

from __future__ import annotations

import itertools

from devtools.capacity import workloads
from devtools.capacity.fleet import FleetModel
from devtools.capacity.policy import ScalingPolicy
from devtools.capacity.replay import replay

GOALS = {
    "one_photo_from_zero_s": 3 * 60,
    "burst_10000_drain_s": 15 * 60,
    "burst_100000_drain_s": 2 * 3600,
    "day_p95_s": 5 * 60,
}
BACKLOG_PER_TASK = (25, 50, 100, 200)
MAX_TASKS = (10, 20, 30, 40)
IDLE_MINUTES = (5, 10, 15)


def tune(
    current: ScalingPolicy, model: FleetModel, *, metric_delay_s: float
) -> tuple[dict[str, object], int]:
    """The cheapest policy meeting GOALS (its knobs and figures), and how many were tried."""
    found = [
        evaluate(
            current.replace(
                backlog_per_task=per_task, max_tasks=max_tasks, idle_minutes_before_zero=idle
            ),
            model,
            metric_delay_s=metric_delay_s,
        )
        for per_task, max_tasks, idle in itertools.product(
            BACKLOG_PER_TASK, MAX_TASKS, IDLE_MINUTES
        )
    ]
    meeting = [candidate for candidate in found if candidate["meets_goals"]] or found
    best = min(meeting, key=lambda candidate: (candidate["cost_usd"], candidate["day_p95_s"]))
    return best, len(found)


def evaluate(
    policy: ScalingPolicy, model: FleetModel, *, metric_delay_s: float = 60.0
) -> dict[str, object]:
    """One policy's knobs, its figures for each goal, its cost, and whether it meets GOALS."""
    first, tenk, hundredk, daily = (
        replay(photos, model=model, policy=policy, metric_delay_s=metric_delay_s)
        for photos in _WORKLOADS
    )
    figures = {
        "one_photo_from_zero_s": round(first.drain_s, 1),
        "burst_10000_drain_s": round(tenk.drain_s, 1),
        "burst_100000_drain_s": round(hundredk.drain_s, 1),
        "day_p95_s": round(daily.p95_s, 1),
    }
    return {
        "backlog_per_task": policy.backlog_per_task,
        "max_tasks": policy.max_tasks,
        "idle_minutes_before_zero": policy.idle_minutes_before_zero,
        **figures,
        "cost_usd": round(tenk.cost + daily.cost, 3),
        "meets_goals": all(figures[goal] <= bound for goal, bound in GOALS.items()),
    }


_WORKLOADS = (
    workloads.single(),
    workloads.burst(10_000),
    workloads.burst(100_000),
    workloads.day(),
)
