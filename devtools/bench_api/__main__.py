"""`python -m devtools.bench_api [--requests 2000] [--concurrency 16]`; JSON on the last line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
from pathlib import Path

from devtools.bench_api.environment import cpu_seconds, load_environment
from devtools.bench_api.queue_drainer import QueueDrainer
from devtools.bench_api.run import drive, seed, summarize, verify

BENCHMARKS = {
    "enqueue": "POST /books/{id}/images/{image_id}/process (new job: Postgres + SQS publish)",
    "upload": "POST /books/{id}/images, primary PNG (S3 put + Postgres + SQS publish)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench_api", description=__doc__)
    parser.add_argument(
        "--path",
        choices=["enqueue", "upload"],
        default="enqueue",
        help="enqueue: POST .../images/{id}/process on existing images (DB + SQS); "
        "upload: POST .../images with a primary PNG (S3 + DB + SQS)",
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=100, help="requests before measuring")
    parser.add_argument("--books", type=int, default=100, help="books the requests spread over")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--postgres-admin-url",
        default=os.environ.get(
            "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="bench-api-") as workdir,
        load_environment(
            admin_url=args.postgres_admin_url, workdir=Path(workdir), api_workers=args.api_workers
        ) as env,
    ):
        total = args.requests + args.warmup
        targets = seed(env, books=args.books, images=total if args.path == "enqueue" else 0)
        if args.path == "upload":
            targets = [(1 + number % args.books, 0) for number in range(total)]
        print(f"API on {env.api_url}, moto_server on {env.aws_endpoint}; {args.path} path")
        drainer = QueueDrainer(env)
        drainer.start()
        # CPU time over the measured requests only, the window the latencies cover: the
        # warm-up's one-off costs (pooled connections, one boto3 client per broker
        # connection, imports on first use) are not a cost per request.
        cpu_before: dict[str, float] = {}

        def _start_cpu_window() -> None:
            cpu_before.update({name: cpu_seconds(pid) for name, pid in env.pids().items()})

        results, seconds = asyncio.run(
            drive(
                env,
                path=args.path,
                targets=targets,
                concurrency=args.concurrency,
                warmup=args.warmup,
                on_measure=_start_cpu_window,
            )
        )
        cpu_ms = {
            f"{name}_cpu_ms_per_request": round(
                (cpu_seconds(pid) - cpu_before[name]) * 1000 / args.requests, 2
            )
            for name, pid in env.pids().items()
        }
        print(f"{args.requests} requests in {seconds:.1f} s; verifying jobs and messages")
        checks = verify(env, results, drainer.stop_and_collect(), expected=total)
    report = {
        "benchmark": BENCHMARKS[args.path],
        "requests": args.requests,
        "concurrency": args.concurrency,
        "api_workers": args.api_workers,
        "errors": sum(n for status, n in results.statuses.items() if not 200 <= status < 300),
        "job_statuses": dict(results.job_statuses),
        **summarize(results, seconds),
        **cpu_ms,
        "verification": checks,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }
    print(json.dumps(report))
    ok = report["errors"] == 0 and checks["one_job_per_request"] and checks["one_message_per_job"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
