"""`make bench-soak`: 1000 photos through one worker (prefork, concurrency 2), its pool
processes' memory sampled every second.

The photos are the bench set's, with a 48 MP PNG every 50th (near the largest the API takes: a
PNG cannot be decoded at a reduced scale as a JPEG can, so it is the worst case for memory).
They go through the API on the embedded stack (devtools/embedded_stack), as in bench-e2e.

Prints one JSON object (its last line): the drain, each pool process's steady RSS, growth per
100 photos and peak (devtools/soak.py), how many processes Celery replaced, the worker's
WORKER_MAX_MEMORY_PER_CHILD_MB, and the service times of a job's calls to S3 and the database
from its log lines (`fetch_s`: claim, source row and GetObject; `store_s`: PutObject and the
result transaction), which docs/operations.md's timeouts are set against; writes the curve to
out/soak/rss.csv.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from PIL import Image

from app.settings import get_settings
from devtools.embedded_stack.processes import Supervisor
from devtools.embedded_stack.stack import ok, stack_env, start_stack
from devtools.soak import PoolRssSampler, rss_curve, summarize
from devtools.synthetic_photos import generate_set, load_manifest

LARGE_EVERY = 50
LARGE_SIZE = (8000, 6000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench_soak", description=__doc__)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("out"))
    arguments = parser.parse_args(argv)
    out = arguments.out.resolve()
    photos = _photos(out, arguments.images)
    settings = get_settings()
    env = stack_env(settings, out / "soak-stack")
    env.pop("EVENTS_BROKER_URL", None)  # the worker alone, as in bench-e2e
    env.pop("FLOWER_PORT", None)
    env["LOG_FORMAT"] = "json"  # the job lines' timings, read back below
    logs = out / "soak-stack" / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # this run's lines only (the supervisor appends)
    supervisor = Supervisor(log_dir=logs, env=env)
    try:
        api = start_stack(supervisor, env, out / "soak-stack").api()
        sampler = PoolRssSampler(supervisor.processes["worker"].pid).start()
        book = ok(api.post("/books", json={"title": "soak"}))
        started = time.monotonic()
        for index, (name, data) in enumerate(photos):
            ok(
                api.post(
                    f"/books/{book['id']}/images",
                    files={"file": (f"{index}-{name}", data, "application/octet-stream")},
                    data={"is_primary": "true"},
                )
            )
        jobs = _wait(api, book["id"], len(photos))
        drain_s = time.monotonic() - started
        samples = sampler.stop()
    finally:
        supervisor.stop_all()
    completions = [
        datetime.fromisoformat(job["completed_at"]).timestamp()
        for job in jobs
        if job["completed_at"]
    ]
    rss_curve(samples, completions, out / "soak" / "rss.csv")
    summary = summarize(samples, completions)
    print(
        json.dumps(
            {
                "images": len(jobs),
                "large_images": len(photos) // LARGE_EVERY,
                "failed": sum(job["status"] != "completed" for job in jobs),
                "drain_s": round(drain_s, 1),
                "images_per_s": round(len(jobs) / drain_s, 3),
                "worker_max_memory_per_child_mb": settings.worker_max_memory_per_child_mb,
                "processes_replaced": max(0, int(summary["pool_processes_seen"]) - 2),  # type: ignore[call-overload]
                **_call_times(logs / "worker.log"),
                **{key: value for key, value in summary.items() if key != "pool_processes_seen"},
            }
        )
    )
    return 0


def _photos(out: Path, count: int) -> list[tuple[str, bytes]]:
    cases = load_manifest(generate_set("bench", out / "samples"))
    regular = [(case.image_path.name, case.image_path.read_bytes()) for case in cases]
    first = Image.open(cases[0].image_path).convert("RGB").resize(LARGE_SIZE)
    buffer = io.BytesIO()
    first.save(buffer, format="PNG", compress_level=1)
    large = ("large-48mp.png", buffer.getvalue())
    return [
        large if index % LARGE_EVERY == LARGE_EVERY - 1 else regular[index % len(regular)]
        for index in range(count)
    ]


def _call_times(worker_log: Path) -> dict[str, float]:
    """p50, p99 and max of the jobs' fetch_s and store_s, from the worker's JSON log lines."""
    times: dict[str, list[float]] = {"fetch_s": [], "store_s": []}
    for line in worker_log.read_text(errors="replace").splitlines():
        if not line.startswith("{") or '"job completed"' not in line:
            continue
        record = json.loads(line)
        for name, values in times.items():
            values.append(float(record[name]))
    summary = {}
    for name, values in times.items():
        values.sort()
        if values:
            summary[f"{name}_p50"] = round(statistics.median(values), 3)
            summary[f"{name}_p99"] = round(values[int(len(values) * 0.99) - 1], 3)
            summary[f"{name}_max"] = round(values[-1], 3)
    return summary


def _wait(api, book_id: int, count: int, timeout: float = 3600) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs: list[dict] = []
        while True:
            page = ok(
                api.get(f"/books/{book_id}/jobs", params={"limit": 500, "offset": len(jobs)})
            )["items"]
            jobs += page
            if len(page) < 500:
                break
        if len(jobs) >= count and all(job["status"] in ("completed", "failed") for job in jobs):
            return jobs
        time.sleep(2)
    raise TimeoutError(f"{count} jobs not drained within {timeout:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
