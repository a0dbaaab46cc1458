"""The worker fleet on ECS: an SQS queue, tasks that start, take photos and stop, and the
capacity providers' split between on-demand and Spot.

A task takes one photo per pool process at a time (prefetch 1, late acknowledgement), so a
task that stops holds no message beyond those it is running. Stopped (scale-in or a Spot
reclaim), it takes nothing new and has its stop window to finish what it runs; a photo it
could not finish comes back to the queue when its visibility timeout ends.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from devtools.capacity.inputs import ServiceTimes, SpotReclaims, TaskStart
from devtools.capacity.policy import ScalingPolicy

STOP_WINDOW_S = 120.0  # stopTimeout (Fargate's maximum) and the Spot warning alike


@dataclass
class Photo:
    number: int
    arrived: float
    done: float | None = None
    deliveries: int = 0


@dataclass
class Task:
    spot: bool
    requested: float
    running: bool = False
    stopping: bool = False
    ended: float | None = None
    stop: simpy.Event | None = None
    kill: simpy.Event | None = None
    busy: int = 0

    def hours(self, now: float) -> float:
        return ((self.ended if self.ended is not None else now) - self.requested) / 3600


@dataclass
class FleetModel:
    """What a task is made of: how it starts, how long a photo takes, how Spot behaves."""

    start: TaskStart
    service: ServiceTimes
    reclaims: SpotReclaims | None  # None: every task on demand
    on_demand_base: int
    visibility_timeout_s: float
    # Beyond the base, tasks go on demand and on Spot in these proportions (ECS's weights).
    on_demand_weight: int = 0
    spot_weight: int = 1
    receive_gap_s: float = 0.1  # kombu's polling interval between a process's messages

    @classmethod
    def under(
        cls,
        policy: ScalingPolicy,
        start: TaskStart,
        service: ServiceTimes,
        reclaims: SpotReclaims | None,
    ) -> FleetModel:
        """Tasks as `policy` places them (`reclaims` None: every one on demand)."""
        return cls(
            start=start,
            service=service,
            reclaims=reclaims,
            on_demand_base=policy.on_demand_base,
            visibility_timeout_s=policy.visibility_timeout_s,
            on_demand_weight=policy.on_demand_weight,
            spot_weight=policy.spot_weight,
        )


@dataclass
class Fleet:
    env: simpy.Environment
    model: FleetModel
    seed: int = 0
    queue: simpy.Store = field(init=False)
    tasks: list[Task] = field(default_factory=list)
    desired: int = 0
    in_flight: int = 0
    photos: list[Photo] = field(default_factory=list)
    reclaimed: int = 0
    redelivered: int = 0
    completed: int = 0

    def __post_init__(self) -> None:
        self.queue = simpy.Store(self.env)
        self._service = random.Random(self.seed)
        self._spot = random.Random(self.seed + 1)

    # --- the queue ------------------------------------------------------------------------

    def upload(self, photo: Photo) -> None:
        self.photos.append(photo)
        self.queue.put(photo)

    @property
    def visible(self) -> int:
        return len(self.queue.items)

    @property
    def outstanding(self) -> int:
        return self.visible + self.in_flight

    # --- the service: desired count and the tasks that make it ---------------------------

    @property
    def live(self) -> list[Task]:
        return [task for task in self.tasks if task.ended is None and not task.stopping]

    @property
    def running(self) -> int:
        return sum(task.running and task.ended is None for task in self.tasks)

    def set_desired(self, count: int) -> None:
        self.desired = count
        self.reconcile()

    def reconcile(self) -> None:
        """ECS: start tasks up to the desired count, or stop the newest beyond it."""
        live = self.live
        for _ in range(self.desired - len(live)):
            self._launch()
        for task in sorted(live, key=lambda task: task.requested)[self.desired :]:
            self._stop(task)

    def _launch(self) -> None:
        task = Task(spot=self._next_is_spot(), requested=self.env.now)
        task.stop, task.kill = self.env.event(), self.env.event()
        self.tasks.append(task)
        self.env.process(self._run(task))

    def _next_is_spot(self) -> bool:
        """ECS's placement: the base on demand first, then whichever provider is furthest
        below its weighted share of the tasks beyond the base."""
        model = self.model
        if model.reclaims is None:
            return False
        live = self.live
        on_demand = sum(not task.spot for task in live)
        if on_demand < model.on_demand_base:
            return False
        spot = len(live) - on_demand
        beyond = on_demand - model.on_demand_base + spot + 1
        weights = model.on_demand_weight + model.spot_weight
        return spot < beyond * model.spot_weight / weights

    def _stop(self, task: Task) -> None:
        task.stopping = True
        task.stop.succeed()
        self.env.process(self._kill_after_window(task))

    def _kill_after_window(self, task: Task) -> Generator[Any, Any, None]:
        yield self.env.timeout(STOP_WINDOW_S)
        if not task.kill.triggered:
            task.kill.succeed()

    def _run(self, task: Task) -> Generator[Any, Any, None]:
        started = yield self.env.timeout(self.model.start.seconds) | task.stop
        if task.stop in started:  # stopped while starting: it never ran
            task.ended = self.env.now
            return
        task.running = True
        if task.spot:
            self.env.process(self._reclaim_some_time(task))
        processes = [
            self.env.process(self._pool_process(task))
            for _ in range(self.model.service.processes_per_task)
        ]
        yield self.env.all_of(processes)
        task.ended = self.env.now
        if not task.kill.triggered:
            task.kill.succeed()

    def _pool_process(self, task: Task) -> Generator[Any, Any, None]:
        while not task.stopping:
            receive = self.queue.get()
            got = yield receive | task.stop
            if receive not in got:
                if receive.triggered:  # a photo came with the stop: it goes back untouched
                    self.queue.put(receive.value)
                else:
                    receive.cancel()
                return
            photo = got[receive]
            photo.deliveries += 1
            self.in_flight += 1
            task.busy += 1
            received = self.env.now
            seconds = self.model.service.draw(self._service) + self.model.receive_gap_s
            finished = yield self.env.timeout(seconds) | task.kill
            task.busy -= 1
            self.in_flight -= 1
            if task.kill in finished and self.env.now < received + seconds:
                # Killed mid-photo: SQS hands the message out again after its timeout.
                self.redelivered += 1
                self.env.process(self._return_after(photo, received))
                return
            if photo.done is not None:
                raise AssertionError(f"photo {photo.number} done twice")
            photo.done = self.env.now
            self.completed += 1

    def _return_after(self, photo: Photo, received: float) -> Generator[Any, Any, None]:
        yield self.env.timeout(max(0.0, received + self.model.visibility_timeout_s - self.env.now))
        self.queue.put(photo)

    def _reclaim_some_time(self, task: Task) -> Generator[Any, Any, None]:
        rate = self.model.reclaims.per_task_hour / 3600
        if rate <= 0:
            return
        reclaim = self.env.timeout(self._spot.expovariate(rate))
        outcome = yield reclaim | task.stop
        if reclaim in outcome and not task.stopping:
            self.reclaimed += 1
            self._stop(task)  # the two minutes' warning is the stop window
            self.reconcile()  # the service starts a replacement at once
