"""Drive the load, then verify every request left exactly one job and one message."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from devtools.bench_api.environment import Environment

# A valid PNG signature is all the API looks at; the worker is not part of this run.
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(2048)


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    # job id -> (book id, image id), from the responses
    jobs: dict[str, tuple[int, int]] = field(default_factory=dict)
    job_statuses: Counter[str] = field(default_factory=Counter)


def seed(env: Environment, *, books: int, images: int) -> list[tuple[int, int]]:
    """Books and (for the enqueue path) image rows, made in SQL: setup is not measured.

    Returns (book id, image id) pairs, one per request, spread over the books.
    """
    engine = create_engine(env.database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO books (title) SELECT 'Load book ' || n FROM generate_series(1, :n) n"
            ),
            {"n": books},
        )
        rows = connection.execute(
            text(
                "INSERT INTO book_images (book_id, s3_key, display_order) "
                "SELECT 1 + (n % :books), (1 + (n % :books)) || '/seed-' || n || '.png', n "
                "FROM generate_series(1, :n) n RETURNING book_id, id"
            ),
            {"books": books, "n": images},
        ).all()
    engine.dispose()
    return [(int(book_id), int(image_id)) for book_id, image_id in rows]


async def _send(
    client: httpx.AsyncClient, path: str, target: tuple[int, int], results: Results
) -> float:
    """One request; its latency in ms. `enqueue` queues an existing image, `upload` a new one."""
    book_id, image_id = target
    started = time.perf_counter()
    if path == "enqueue":
        response = await client.post(f"/books/{book_id}/images/{image_id}/process")
    else:
        response = await client.post(
            f"/books/{book_id}/images",
            files={"file": ("cover.png", IMAGE, "image/png")},
            data={"is_primary": "true"},
        )
    elapsed_ms = (time.perf_counter() - started) * 1000
    results.statuses[response.status_code] += 1
    if response.is_success:
        body = response.json()
        job = body if path == "enqueue" else body["job"]
        results.jobs[job["id"]] = (job["book_id"], job["source_image_id"])
        results.job_statuses[job["status"]] += 1
    return elapsed_ms


async def drive(
    env: Environment,
    *,
    path: str,
    targets: list[tuple[int, int]],
    concurrency: int,
    warmup: int,
    on_measure: Callable[[], None] = lambda: None,
) -> tuple[Results, float]:
    """Send one request per target, `concurrency` in flight; (results, measured seconds).

    `on_measure` is called between the warm-up and the measured requests (to read the
    processes' CPU time over the same window as the latencies).
    """
    results = Results()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=env.api_url, headers={"X-API-Key": env.api_key}, limits=limits, timeout=30
    ) as client:

        async def _run(batch: list[tuple[int, int]], latencies: list[float]) -> None:
            pending = iter(batch)

            async def _worker() -> None:
                for target in pending:
                    latencies.append(await _send(client, path, target, results))

            await asyncio.gather(*(_worker() for _ in range(concurrency)))

        # Warm-up at full concurrency: every pooled connection (Postgres, and the broker's,
        # each with its boto3 client) is opened before the clock starts.
        await _run(targets[:warmup], [])
        on_measure()
        started = time.perf_counter()
        await _run(targets[warmup:], results.latencies_ms)
        return results, time.perf_counter() - started


def verify(
    env: Environment, results: Results, messages: list[dict[str, Any]], *, expected: int
) -> dict[str, Any]:
    """Exactly one job per request in the database, exactly one message per job on the queue."""
    engine = create_engine(env.database_url)
    with engine.connect() as connection:
        database_jobs = {
            str(row[0]): (row[1], row[2])
            for row in connection.execute(
                text("SELECT id, book_id, source_image_id FROM image_processing_jobs")
            )
        }
    engine.dispose()
    # One SQS message per job: distinct MessageIds, whatever was delivered twice.
    unique = {message["message_id"]: message for message in messages}
    per_job = Counter(message["args"][0] for message in unique.values())
    message_args = {m["args"][0]: (m["args"][1], m["args"][2]) for m in unique.values()}
    return {
        "all_responses_2xx": sum(n for status, n in results.statuses.items() if 200 <= status < 300)
        == expected,
        "jobs_in_database": len(database_jobs),
        "messages_on_queue": len(unique),
        "duplicate_deliveries": len(messages) - len(unique),
        "one_job_per_request": database_jobs == results.jobs and len(results.jobs) == expected,
        "one_message_per_job": set(per_job) == set(results.jobs)
        and all(count == 1 for count in per_job.values())
        and message_args == results.jobs,
        "tasks": sorted({message["task"] for message in messages}),
    }


def summarize(results: Results, seconds: float) -> dict[str, float]:
    latencies = sorted(results.latencies_ms)
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "p50_ms": round(quantiles[49], 1),
        "p90_ms": round(quantiles[89], 1),
        "p99_ms": round(quantiles[98], 1),
        "max_ms": round(latencies[-1], 1),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "seconds": round(seconds, 2),
    }
