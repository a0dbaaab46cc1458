"""The arrivals `make capacity` replays: upload times in seconds from the start."""

from __future__ import annotations

import math
import random

# Measured: one API process takes about 50 uploads a second (docs/performance.md, "Load",
# `--path upload`); a burst arrives at that rate.
UPLOADS_PER_S = 50.0


def single() -> list[float]:
    """One photo, the fleet idle at zero tasks: the time to a first result."""
    return [0.0]


def burst(photos: int, rate: float = UPLOADS_PER_S) -> list[float]:
    return [index / rate for index in range(photos)]


def day(photos: int = 10_000, burst_photos: int = 2_000, seed: int = 7) -> list[float]:
    """A catalogue's day: uploads through working hours (none at night, a peak mid-afternoon,
    arrivals at random), and one import of `burst_photos` at 14:00."""
    generator = random.Random(seed)
    weights = [max(0.0, math.sin(math.pi * (hour - 7) / 12)) for hour in range(24)]
    spread = photos - burst_photos
    arrivals: list[float] = []
    for _ in range(spread):
        hour = generator.choices(range(24), weights)[0]
        arrivals.append((hour + generator.random()) * 3600)
    arrivals += [14 * 3600 + at for at in burst(burst_photos)]
    return sorted(arrivals)
