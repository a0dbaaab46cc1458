"""CloudWatch and Application Auto Scaling, as terraform sets them up for the worker service.

Metrics are one-minute datapoints (SQS's and Container Insights' period), seen by the alarms
`metric_delay_s` after their minute ends. Three things act on the desired count:

- the step policy from zero: while no task runs and a message waits (1 datapoint), exact
  capacity by the step table, at most once per its cooldown;
- target tracking on (waiting + in flight) / running: out after 3 datapoints above the
  target, in after 15 below 90 % of it, each direction with its cooldown;
- the step policy to zero: nothing waiting or in flight for `idle_minutes_before_zero`
  datapoints sets the minimum.

A policy whose alarm stays in ALARM acts again at each evaluation once its cooldown is over,
as Application Auto Scaling does.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from devtools.capacity.fleet import Fleet
from devtools.capacity.policy import (
    TARGET_TRACKING_IN_DATAPOINTS,
    TARGET_TRACKING_IN_FRACTION,
    TARGET_TRACKING_OUT_DATAPOINTS,
    ScalingPolicy,
)

SAMPLE_S = 5.0  # how often the simulation samples the queue to build a minute's statistics


@dataclass(frozen=True)
class Datapoint:
    visible_max: float
    visible_avg: float
    in_flight_max: float
    in_flight_avg: float
    running_max: float
    running_avg: float


@dataclass
class Autoscaler:
    env: simpy.Environment
    fleet: Fleet
    policy: ScalingPolicy
    # Assumed: SQS and Container Insights datapoints reach the alarms about a minute after
    # their period ends (CloudWatch publishes SQS metrics at one-minute granularity).
    metric_delay_s: float = 60.0
    datapoints: list[Datapoint] = field(default_factory=list)
    _last_action: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.env.process(self._measure())

    def _measure(self) -> Generator[Any, Any, None]:
        period = self.policy.metric_period_s
        per_period = max(1, round(period / SAMPLE_S))
        while True:
            samples = []
            for _ in range(per_period):
                yield self.env.timeout(period / per_period)
                samples.append((self.fleet.visible, self.fleet.in_flight, self.fleet.running))
            point = _datapoint(samples)
            self.env.process(self._publish(point))

    def _publish(self, point: Datapoint) -> Generator[Any, Any, None]:
        yield self.env.timeout(self.metric_delay_s)
        self.datapoints.append(point)
        self._evaluate()

    def _evaluate(self) -> None:
        latest = self.datapoints[-1]
        policy = self.policy
        if latest.running_max == 0 and latest.visible_max >= 1:
            self._act(
                "from_zero", policy.from_zero_cooldown_s, policy.tasks_from_zero(latest.visible_max)
            )
            return
        tracked = self._tracked(TARGET_TRACKING_OUT_DATAPOINTS)
        if tracked and all(value > policy.backlog_per_task for value, _ in tracked):
            wanted = policy.tracked_tasks(tracked[-1][1])
            if wanted > self.fleet.desired:
                self._act("out", policy.scale_out_cooldown_s, wanted)
        tracked = self._tracked(TARGET_TRACKING_IN_DATAPOINTS)
        low = TARGET_TRACKING_IN_FRACTION * policy.backlog_per_task
        if tracked and all(value < low for value, _ in tracked):
            wanted = policy.tracked_tasks(tracked[-1][1])
            if wanted < self.fleet.desired:
                self._act("in", policy.scale_in_cooldown_s, wanted)
        idle = self.datapoints[-policy.idle_minutes_before_zero :]
        quiet = len(idle) == policy.idle_minutes_before_zero and all(
            point.visible_max + point.in_flight_max <= 0 for point in idle
        )
        if quiet and self.fleet.desired > policy.min_tasks:
            self._act("to_zero", policy.to_zero_cooldown_s, policy.min_tasks)

    def _tracked(self, count: int) -> list[tuple[float, float]] | None:
        """The last `count` datapoints of the tracked metric with their outstanding messages;
        None when any is missing (no task ran in that minute)."""
        points = self.datapoints[-count:]
        if len(points) < count or any(point.running_avg == 0 for point in points):
            return None
        return [
            ((p.visible_avg + p.in_flight_avg) / p.running_avg, p.visible_avg + p.in_flight_avg)
            for p in points
        ]

    def _act(self, policy_name: str, cooldown_s: float, capacity: int) -> None:
        last = self._last_action.get(policy_name, -math.inf)
        if self.env.now - last < cooldown_s:
            return
        capacity = max(self.policy.min_tasks, min(self.policy.max_tasks, capacity))
        if capacity != self.fleet.desired:
            self._last_action[policy_name] = self.env.now
            self.fleet.set_desired(capacity)


def _datapoint(samples: list[tuple[int, int, int]]) -> Datapoint:
    visible, in_flight, running = zip(*samples, strict=True)
    return Datapoint(
        visible_max=max(visible),
        visible_avg=sum(visible) / len(visible),
        in_flight_max=max(in_flight),
        in_flight_avg=sum(in_flight) / len(in_flight),
        running_max=max(running),
        running_avg=sum(running) / len(running),
    )
