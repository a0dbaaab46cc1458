"""One replay: arrivals through a fleet under a policy, and what it cost."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from devtools.capacity.autoscaler import Autoscaler
from devtools.capacity.fleet import Fleet, FleetModel, Photo
from devtools.capacity.inputs import TASK_HOUR_ON_DEMAND, TASK_HOUR_SPOT
from devtools.capacity.policy import ScalingPolicy

# Past the last result, the fleet is followed until it is back at its minimum, so the idle
# minutes before scaling to zero are in the task-hours; never longer than this.
TAIL_LIMIT_S = 2 * 3600.0
# A replay that has not drained after a week of simulated time has lost a photo.
GIVE_UP_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Outcome:
    photos: int
    drain_s: float  # first upload to last result
    p50_s: float  # upload to completed
    p95_s: float
    peak_tasks: int
    task_hours_on_demand: float
    task_hours_spot: float
    reclaimed: int
    redelivered: int

    @property
    def cost(self) -> float:
        return (
            self.task_hours_on_demand * TASK_HOUR_ON_DEMAND + self.task_hours_spot * TASK_HOUR_SPOT
        )


def replay(
    arrivals: list[float],
    *,
    model: FleetModel,
    policy: ScalingPolicy | None,
    metric_delay_s: float = 60.0,
    initial_tasks: int = 0,
    seed: int = 0,
) -> Outcome:
    """`policy` None: no autoscaler, `initial_tasks` kept (the one-task validation)."""
    env = simpy.Environment()
    fleet = Fleet(env, model, seed=seed)
    fleet.set_desired(initial_tasks)
    if policy is not None:
        Autoscaler(env, fleet, policy, metric_delay_s=metric_delay_s).start()
    env.process(_uploads(env, fleet, arrivals))
    peak = _run_until_drained(
        env, fleet, len(arrivals), floor=initial_tasks if policy is None else policy.min_tasks
    )
    done = sorted(photo.done - photo.arrived for photo in fleet.photos)
    return Outcome(
        photos=len(arrivals),
        drain_s=max(photo.done for photo in fleet.photos) - min(arrivals),
        p50_s=done[len(done) // 2],
        p95_s=done[max(0, int(len(done) * 0.95) - 1)],
        peak_tasks=peak,
        task_hours_on_demand=sum(t.hours(env.now) for t in fleet.tasks if not t.spot),
        task_hours_spot=sum(t.hours(env.now) for t in fleet.tasks if t.spot),
        reclaimed=fleet.reclaimed,
        redelivered=fleet.redelivered,
    )


def _uploads(
    env: simpy.Environment, fleet: Fleet, arrivals: list[float]
) -> Generator[Any, Any, None]:
    for number, at in enumerate(sorted(arrivals)):
        if at > env.now:
            yield env.timeout(at - env.now)
        fleet.upload(Photo(number, env.now))


def _run_until_drained(env: simpy.Environment, fleet: Fleet, photos: int, floor: int) -> int:
    peak = 0
    step = 5.0
    while fleet.completed < photos:
        env.run(until=env.now + step)
        peak = max(peak, len(fleet.live))
        if env.now > GIVE_UP_S:
            raise AssertionError(f"{photos - fleet.completed} photos never done: lost")
    drained = env.now
    while env.now - drained < TAIL_LIMIT_S and (
        fleet.desired > floor or any(task.ended is None for task in fleet.tasks if task.stopping)
    ):
        env.run(until=env.now + step)
    return peak
