"""Where a worker's pool processes spent their time: on a core, or waiting for one.

Linux keeps both per process in /proc/<pid>/schedstat (nanoseconds on a CPU, nanoseconds ready
but waiting in a run queue). Taken before and after a drain, the difference over the pool
processes splits each task's wall time three ways: CPU, waiting for a core (more processes than
cores), and the rest, blocked on the network and the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SchedTimes:
    on_cpu_s: float
    runqueue_s: float

    def __sub__(self, other: SchedTimes) -> SchedTimes:
        return SchedTimes(self.on_cpu_s - other.on_cpu_s, self.runqueue_s - other.runqueue_s)


def children(pid: int) -> list[int]:
    """The direct children of `pid` (a prefork worker's pool processes)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def wait_for_children(pid: int, count: int, *, timeout_s: float = 120.0) -> list[int]:
    """`pid`'s children once there are `count` of them: the stack answers before a prefork
    worker has forked its whole pool, and a pool process missing from the list measured no
    time at all (every per-image split read zero)."""
    deadline = time.monotonic() + timeout_s
    while len(found := children(pid)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(found)} of {count} pool processes after {timeout_s:.0f} s")
        time.sleep(0.2)
    return found


def sched_times(pids: list[int]) -> SchedTimes:
    """The summed schedstat of every thread of `pids` (/proc/<pid>/schedstat is the main
    thread's alone); a process or thread that has exited counts as zero."""
    on_cpu_ns = runqueue_ns = 0
    for pid in pids:
        try:
            threads = list(Path(f"/proc/{pid}/task").iterdir())
        except FileNotFoundError:
            continue
        for thread in threads:
            try:
                fields = (thread / "schedstat").read_text().split()
            except FileNotFoundError:
                continue
            on_cpu_ns += int(fields[0])
            runqueue_ns += int(fields[1])
    return SchedTimes(on_cpu_ns / 1e9, runqueue_ns / 1e9)


def load_average() -> float:
    """The one-minute load average: how busy the machine was besides the run."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_until_idle(pids: list[int], *, window_s: float = 1.0, timeout_s: float = 180.0) -> None:
    """Until `pids` together use under 5 % of a core over `window_s`: a prefork worker says
    "ready" before its pool processes have loaded their models, whose CPU must not count."""
    deadline = time.monotonic() + timeout_s
    last = sched_times(pids).on_cpu_s
    while time.monotonic() < deadline:
        time.sleep(window_s)
        now = sched_times(pids).on_cpu_s
        if now - last < 0.05 * window_s:
            return
        last = now
    raise TimeoutError(f"pool processes {pids} still busy after {timeout_s:.0f} s")


def machine_ticks() -> tuple[int, int, int]:
    """(busy, stolen, total) clock ticks of every core since boot, from /proc/stat's first line:
    stolen is the time the hypervisor gave this VM's cores to another guest."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, stolen = fields[3] + fields[4], fields[7]  # idle + iowait; steal
    return sum(fields) - idle - stolen, stolen, sum(fields)


def tree_ticks(root: int) -> int:
    """CPU clock ticks (user + system, exited threads included) of `root` and its descendants:
    this run's own share of `machine_ticks`."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            pending += children(pid)
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def machine_shares(
    before: tuple[int, int, int], after: tuple[int, int, int], own_ticks: int
) -> dict[str, float]:
    """Shares of the machine's core time between two `machine_ticks`: busy, busy with another
    process than this run's (other engineers' tests, and Postgres), and stolen by the host."""
    total = max(1, after[2] - before[2])
    busy = after[0] - before[0]
    return {
        "machine_busy": round(busy / total, 3),
        "machine_busy_others": round(max(0, busy - own_ticks) / total, 3),
        "machine_stolen": round((after[1] - before[1]) / total, 3),
    }
