"""The memory of a worker's pool processes over a long run: sampled, and summed up.

Used by `make bench-soak` (1000 photos, devtools/bench_soak.py) and by the suite's scaled-down
soak (tests/worker/integration/test_soak.py). RSS is what the kernel counts resident now;
the peak is the process's high-water mark (VmHWM), which is also what Celery compares with
`worker_max_memory_per_child` (billiard reads ru_maxrss) after each task.
"""

from __future__ import annotations

import bisect
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

# Photos the worker completes after a pool process's first sample before that process's memory
# counts as steady: its models' first runs (u2net's first escalation among them) grow
# onnxruntime's arena to its working size. A process whose steady life is shorter than
# MIN_JUDGED_PHOTOS is reported, but its growth is not judged.
WARMUP_PHOTOS = 40
MIN_JUDGED_PHOTOS = 100


@dataclass(frozen=True)
class RssSample:
    at: float  # epoch seconds
    pid: int
    rss_mb: float
    peak_mb: float


@dataclass
class PoolRssSampler:
    """Samples the RSS of a worker's pool processes (its main process's children) every
    `interval` seconds on a thread of its own, until stopped."""

    worker_pid: int
    interval: float = 1.0
    samples: list[RssSample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> PoolRssSampler:
        self._thread.start()
        return self

    def stop(self) -> list[RssSample]:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.samples

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                children = psutil.Process(self.worker_pid).children()
            except psutil.NoSuchProcess:
                return
            now = time.time()
            for child in children:
                try:
                    rss = child.memory_info().rss / 2**20
                    peak = _peak_mb(child.pid)
                except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
                    continue  # recycled between the listing and the reading
                self.samples.append(RssSample(now, child.pid, round(rss, 1), peak))


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def summarize(
    samples: list[RssSample],
    completions: list[float],
    *,
    warmup_photos: int = WARMUP_PHOTOS,
    min_judged_photos: int = MIN_JUDGED_PHOTOS,
) -> dict[str, object]:
    """Per pool process, and over all: its RSS once warm, how much it grew from its early to
    its late samples (per 100 photos the whole worker completed meanwhile), its peak."""
    done = sorted(completions)
    per_process: dict[int, list[RssSample]] = {}
    for sample in samples:
        per_process.setdefault(sample.pid, []).append(sample)
    processes = []
    for pid, own in per_process.items():
        born = bisect.bisect(done, own[0].at)
        warm = [s for s in own if bisect.bisect(done, s.at) - born >= warmup_photos]
        if len(warm) < 8:
            continue  # too short a life to judge (a process recycled, or one that idled)
        quarter = max(2, len(warm) // 4)
        early, late = warm[:quarter], warm[-quarter:]
        photos = bisect.bisect(done, late[-1].at) - bisect.bisect(done, early[0].at)
        growth = statistics.median(s.rss_mb for s in late) - statistics.median(
            s.rss_mb for s in early
        )
        processes.append(
            {
                "pid": pid,
                "steady_rss_mb": round(statistics.median(s.rss_mb for s in warm), 1),
                "growth_mb": round(growth, 1),
                "photos_meanwhile": photos,
                "growth_mb_per_100_photos": (
                    round(100 * growth / photos, 2) if photos >= min_judged_photos else None
                ),
                "peak_mb": max(s.peak_mb for s in own),
            }
        )
    warm_rss = [p["steady_rss_mb"] for p in processes]
    return {
        "pool_processes_seen": len(per_process),
        "steady_rss_mb": round(statistics.median(warm_rss), 1) if warm_rss else None,
        "max_growth_mb_per_100_photos": max(
            (
                float(p["growth_mb_per_100_photos"])  # type: ignore[arg-type]
                for p in processes
                if p["growth_mb_per_100_photos"] is not None
            ),
            default=None,
        ),
        "peak_rss_mb": max((s.peak_mb for s in samples), default=None),
        "processes": processes,
    }


def rss_curve(samples: list[RssSample], completions: list[float], path: Path) -> None:
    """photos completed, pid, RSS and peak in MB: one CSV row per sample, for the docs' curve."""
    done = sorted(completions)
    rows = ["photos_done,pid,rss_mb,peak_mb"]
    rows += [f"{bisect.bisect(done, s.at)},{s.pid},{s.rss_mb},{s.peak_mb}" for s in samples]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
