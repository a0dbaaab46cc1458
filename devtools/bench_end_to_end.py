"""`make bench-e2e`: N photos through the API, drained by one worker (prefork, concurrency 2).

The worker runs MODEL_CHAIN as production does (the u2netp -> u2net cascade by default); the
baselines are u2net's, rembg's default model.

Prints one JSON object (its last line): throughput, per-image service time
inside the task (claim to completion, from the job rows), enqueue-to-complete
percentiles, the raw onnxruntime time measured in the same run under the same
conditions as the worker (two processes' worth of sessions, one intra-op thread
each, running at once), `rembg.remove` throughput over the same photos in one
process, and the peak RSS of all the worker's processes.

`--latency aws` puts a delaying proxy in front of the emulated S3 and SQS
(devtools/latency_proxy.py: AWS's published round trips and per-connection rate);
`--concurrency` and `--prefetch` set the worker's pool layout. Every run also splits the pool's
time per image into CPU, waiting for a core and waiting on the network
(devtools/process_times.py), and prices 1000 photos.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from app.settings import get_settings
from devtools.embedded_stack.processes import Supervisor
from devtools.embedded_stack.stack import ok, stack_env, start_stack
from devtools.latency_proxy import PRESETS, LatencyProxy
from devtools.process_times import (
    children,
    load_average,
    machine_shares,
    machine_ticks,
    sched_times,
    tree_ticks,
    wait_for_children,
    wait_until_idle,
)
from devtools.rembg_reference import rembg_session
from devtools.synthetic_photos import generate_set, load_manifest
from worker.models import runtime
from worker.models.registry import get_spec

CONCURRENCY = 2
BASELINE = "u2net"
# A worker task, 2 vCPU / 8 GB on Fargate, per hour (docs/deployment.md): on demand, and Spot.
TASK_USD_PER_HOUR = {"on_demand": 0.11652, "spot": 0.03496}


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    out = arguments.out.resolve()
    photos = [case.image_path for case in load_manifest(generate_set("bench", out / "samples"))]
    settings = get_settings()
    env = stack_env(settings, out / "bench-stack")
    env.pop("EVENTS_BROKER_URL", None)  # no Flower: measure the worker alone
    env.pop("FLOWER_PORT", None)
    env["WORKER_CONCURRENCY"] = str(arguments.concurrency)
    # celery's command line reads CELERY_WORKER_<OPTION>: the worker's --prefetch-multiplier.
    env["CELERY_WORKER_PREFETCH_MULTIPLIER"] = str(arguments.prefetch)
    proxies = _start_proxies(arguments.latency, env)
    supervisor = Supervisor(log_dir=out / "bench-stack" / "logs", env=env)
    load_before = load_average()
    try:
        api = start_stack(supervisor, env, out / "bench-stack").api()
        worker_pid = supervisor.processes["worker"].pid
        pool = wait_for_children(worker_pid, arguments.concurrency)
        wait_until_idle(pool)
        book = ok(api.post("/books", json={"title": "bench"}))
        uploads = [photos[index % len(photos)] for index in range(arguments.images)]
        requests_before = {name: proxy.requests for name, proxy in proxies.items()}
        times_before, ticks_before = sched_times(pool), machine_ticks()
        own_before = tree_ticks(os.getpid())
        enqueue_started = time.monotonic()
        for photo in uploads:
            ok(
                api.post(
                    f"/books/{book['id']}/images",
                    files={"file": (photo.name, photo.read_bytes(), "image/jpeg")},
                    data={"is_primary": "true"},
                )
            )
        enqueue_s = time.monotonic() - enqueue_started
        jobs = _wait(api, book["id"], arguments.images)
        pool_times = sched_times(pool) - times_before
        own_ticks = tree_ticks(os.getpid()) - own_before
        machine = machine_shares(ticks_before, machine_ticks(), own_ticks)
        pool_replaced = sorted(children(worker_pid)) != sorted(pool)
        requests = {name: proxy.requests - requests_before[name] for name, proxy in proxies.items()}
        worker_rss_mb = _tree_peak_rss_mb(worker_pid)
    finally:
        supervisor.stop_all()
        for proxy in proxies.values():
            proxy.stop()
    load_after = load_average()
    summary = summarize(
        jobs, *_baselines(settings, photos, skip=arguments.no_baselines), worker_rss_mb, enqueue_s
    )
    summary["concurrency"] = arguments.concurrency
    record = (
        {"model_chain": ",".join(settings.model_chain)}
        | summary
        | layout_keys(arguments, proxies, requests, len(jobs))
        | time_split(jobs, pool_times, arguments.concurrency, float(summary["drain_s"]))
        | cost_per_1000(float(summary["images_per_s"]))
        | machine
        | {"pool_replaced": pool_replaced}
        | {"load_before": load_before, "load_after": load_after}
    )
    # A skipped baseline's keys stay, as null.
    record = {key: None if value != value else value for key, value in record.items()}
    _write_service_times(out / "bench-e2e-jobs.json", jobs, record)
    print(json.dumps(record))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.bench_end_to_end", description=__doc__
    )
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument(
        "--latency",
        choices=["none", *PRESETS],
        default="none",
        help="delay S3 and SQS by AWS's published figures (devtools/latency_proxy.py)",
    )
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="pool processes")
    parser.add_argument(
        "--prefetch", type=int, default=1, help="the worker's prefetch multiplier (default 1)"
    )
    parser.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip raw onnxruntime and rembg (their keys are null): layouts compared by drain",
    )
    return parser


def _start_proxies(latency: str, env: dict[str, str]) -> dict[str, LatencyProxy]:
    """One proxy per service in front of moto_server, named by AWS_ENDPOINT_URL_<SERVICE>."""
    if latency == "none":
        return {}
    moto_port = int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    proxies = {
        service: LatencyProxy(moto_port, service_latency).start()
        for service, service_latency in PRESETS[latency].items()
    }
    for service, proxy in proxies.items():
        env[f"AWS_ENDPOINT_URL_{service.upper()}"] = proxy.url
    return proxies


def _baselines(settings, photos: list[Path], *, skip: bool) -> tuple[float, float]:
    """Raw onnxruntime's and rembg's seconds per photo, u2net (NaN when skipped)."""
    if skip:
        return float("nan"), float("nan")
    baseline = settings.model_copy(update={"model_chain": [BASELINE]})
    return raw_ort_seconds(baseline, photos), rembg_seconds(baseline, photos)


def layout_keys(
    arguments: argparse.Namespace,
    proxies: dict[str, LatencyProxy],
    requests: dict[str, int],
    images: int,
) -> dict[str, object]:
    """The run's layout and latency, and the proxied requests per image."""
    keys: dict[str, object] = {
        "prefetch_multiplier": arguments.prefetch,
        "latency": arguments.latency,
    }
    for service, proxy in proxies.items():
        keys[f"{service}_delay_ms"] = round(proxy.latency.delay_s * 1000)
        keys[f"{service}_requests_per_image"] = round(requests[service] / images, 2)
    if proxies:
        keys["proxy_bytes_per_s"] = next(iter(proxies.values())).latency.bytes_per_s
    return keys


def time_split(jobs: list[dict], pool, concurrency: int, drain_s: float) -> dict[str, object]:
    """Each image's time in a pool process: the task's (claim to completion) split into CPU,
    waiting for a core and the rest (network and database), and the slot's idle time between
    tasks (receiving the next message, acking the last)."""
    count = len(jobs)
    service_mean = statistics.mean(
        (_time(job["completed_at"]) - _time(job["started_at"])).total_seconds() for job in jobs
    )
    cpu, runqueue = pool.on_cpu_s / count, pool.runqueue_s / count
    return {
        "service_mean_s": round(service_mean, 3),
        "cpu_s_per_image": round(cpu, 3),
        "runqueue_s_per_image": round(runqueue, 3),
        "network_wait_s_per_image": round(service_mean - cpu - runqueue, 3),
        "slot_idle_s_per_image": round(concurrency * drain_s / count - service_mean, 3),
    }


def cost_per_1000(images_per_s: float) -> dict[str, float]:
    """One worker task's price of 1000 photos at this drain rate."""
    hours = 1000 / images_per_s / 3600
    return {
        f"usd_per_1000_{kind}": round(hours * price, 4) for kind, price in TASK_USD_PER_HOUR.items()
    }


def _write_service_times(path: Path, jobs: list[dict], summary: dict[str, object]) -> None:
    """Each job's service time, escalation and outcome, with the run's summary: the measured
    distribution `make capacity` replays (devtools/capacity)."""
    first = min(_time(job["created_at"]) for job in jobs)
    per_job = [
        {
            "created_s": round((_time(job["created_at"]) - first).total_seconds(), 4),
            "service_s": round(
                (_time(job["completed_at"]) - _time(job["started_at"])).total_seconds(), 4
            ),
            "escalated": bool(job["escalated"]),
            "status": job["status"],
        }
        for job in jobs
    ]
    path.write_text(json.dumps({"summary": summary, "jobs": per_job}, indent=1) + "\n")


def summarize(
    jobs: list[dict], raw_s: float, rembg_s: float, worker_rss_mb: float, enqueue_s: float
) -> dict[str, object]:
    created = [_time(job["created_at"]) for job in jobs]
    completed = [_time(job["completed_at"]) for job in jobs]
    service = [
        (_time(job["completed_at"]) - _time(job["started_at"])).total_seconds() for job in jobs
    ]
    latency = sorted(
        (end - start).total_seconds() for start, end in zip(created, completed, strict=True)
    )
    drain_s = (max(completed) - min(created)).total_seconds()
    images_per_s = len(jobs) / drain_s
    return {
        "images": len(jobs),
        "failed": sum(job["status"] != "completed" for job in jobs),
        "escalated": sum(bool(job["escalated"]) for job in jobs),
        "concurrency": CONCURRENCY,
        "enqueue_s": round(enqueue_s, 2),
        "drain_s": round(drain_s, 2),
        "images_per_s": round(images_per_s, 3),
        "service_s": round(statistics.median(service), 3),
        "raw_ort_s": round(raw_s, 3),
        "service_over_raw": round(statistics.median(service) / raw_s, 3),
        "rembg_images_per_s": round(1 / rembg_s, 3),
        "drain_over_rembg": round(images_per_s * rembg_s, 3),
        "enqueue_to_complete_p50_s": round(latency[len(latency) // 2], 2),
        "enqueue_to_complete_p95_s": round(latency[int(len(latency) * 0.95) - 1], 2),
        "worker_peak_rss_mb": round(worker_rss_mb, 1),
    }


def raw_ort_seconds(settings, photos: list[Path]) -> float:
    """Median session.run with CONCURRENCY sessions of one thread each, running at once."""
    from PIL import Image

    chains = [runtime.load_models(settings, threads=1)[0] for _ in range(CONCURRENCY)]
    feeds = [chains[0].prepare(Image.open(path).convert("RGB")) for path in photos]
    timings: list[float] = []

    def run(model) -> None:
        for feed in feeds:
            started = time.perf_counter()
            model.run(feed)
            timings.append(time.perf_counter() - started)

    chains[0].run(feeds[0])
    threads = [threading.Thread(target=run, args=(model,)) for model in chains]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statistics.median(timings)


def rembg_seconds(settings, photos: list[Path]) -> float:
    """Median `rembg.remove` per photo, one process, a preloaded session (onnxruntime's threads)."""
    from rembg import remove

    (name,) = settings.model_chain
    session = rembg_session(get_spec(name), settings.u2net_home)
    images = [path.read_bytes() for path in photos]
    remove(images[0], session=session)
    timings = []
    for data in images:
        started = time.perf_counter()
        remove(data, session=session)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _wait(api, book_id: int, count: int, timeout: float = 900) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = ok(api.get(f"/books/{book_id}/jobs", params={"limit": 500}))["items"]
        if len(jobs) >= count and all(job["status"] in ("completed", "failed") for job in jobs):
            return jobs
        time.sleep(1)
    raise TimeoutError(f"{count} jobs not drained within {timeout:.0f} s")


def _tree_peak_rss_mb(pid: int) -> float:
    """Sum of VmHWM (peak resident set) over the worker's main process and its children."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(child) for child in (task / "children").read_text().split()]
    total_kb = 0
    for member in pids:
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


if __name__ == "__main__":
    sys.exit(main())
