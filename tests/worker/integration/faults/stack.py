"""The fleet behind fault proxies: a real worker, beat and the API, each talking to SQS, S3,
Postgres and the events bus through a FaultProxy of its own (tests/faults/proxy.py).

The test process itself talks to the servers directly: it enqueues, reads rows and lists
objects whatever the proxies are doing. Settings are scaled down (short time limits, backoff
and budgets) so an outage and its recovery take seconds; the full figures are in
docs/operations.md.
"""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from app.db import session_scope
from app.models import ACTIVE_STATUSES, ImageProcessingJob, JobStatus
from app.settings import Settings
from tests import servers
from tests.app_stack import API_KEY, Infrastructure
from tests.corpus import book_photo
from tests.faults.http_requests import operation_is
from tests.faults.proxy import Fault, FaultKind, FaultProxy
from tests.servers import wait_until
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker, start_worker

# Every process of the stack, and the test itself, run with these (the time limits, visibility
# timeout, backoff, budget and timeouts of production divided by about ten).
SCALED_SETTINGS = {
    "TASK_SOFT_TIME_LIMIT": "12",
    "TASK_TIME_LIMIT": "15",
    "SQS_VISIBILITY_TIMEOUT": "30",
    "RETRY_BUDGET_SECONDS": "240",
    "RETRY_BACKOFF_FIRST_SECONDS": "0.5",
    "RETRY_BACKOFF_MAX_SECONDS": "4",
    "STALE_PENDING_AFTER_SECONDS": "10",
    "SWEEP_INTERVAL_SECONDS": "2",
    "MAX_PROCESSING_ATTEMPTS": "3",
    "AWS_CONNECT_TIMEOUT_SECONDS": "1",
    "AWS_READ_TIMEOUT_SECONDS": "3",
    "AWS_MAX_ATTEMPTS": "2",
    "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
    "DATABASE_STATEMENT_TIMEOUT_SECONDS": "2",
    "EVENTS_BUS_CONNECT_TIMEOUT_SECONDS": "1",
    "EVENTS_BUS_TIMEOUT_SECONDS": "2",
}
# Where a measured recovery of each test goes, for the table in docs/operations.md.
FIGURES_FILE = Path(__file__).resolve().parents[4] / "test-output" / "fault-matrix.jsonl"


def fault_kinds(*, slow: Fault, http_error: Fault | None = None) -> dict[str, Fault]:
    """What each dependency is put through: refused, reset, hung, its 5xx (HTTP ones), slow."""
    kinds = {
        "refused": Fault(FaultKind.refuse),
        "reset": Fault(FaultKind.reset),
        "hung": Fault(FaultKind.hang),
    }
    if http_error is not None:
        kinds["5xx"] = http_error
    return kinds | {"slow": slow}


def jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    buffer = io.BytesIO()
    book_photo(size).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@dataclass
class Proxies:
    sqs: FaultProxy
    s3: FaultProxy
    postgres: FaultProxy
    bus: FaultProxy

    def all(self) -> list[FaultProxy]:
        return [self.sqs, self.s3, self.postgres, self.bus]

    def heal(self) -> None:
        for proxy in self.all():
            proxy.heal()


@dataclass
class FaultStack:
    settings: Settings  # the test's own: straight to the servers
    infrastructure: Infrastructure
    proxies: Proxies
    env: dict[str, str]  # the processes': through the proxies
    logs: Path
    worker: RunningWorker
    beat: subprocess.Popen[bytes]
    api: subprocess.Popen[bytes]
    api_port: int
    worker_pid: int = 0

    # --- putting work in ------------------------------------------------------------------

    def enqueue(self, data: bytes | None = None) -> str:
        """A book, its photo and a published job, straight to the servers (no proxy)."""
        return records.enqueue_direct(self.infrastructure, data or jpeg())

    def upload(self, data: bytes | None = None, *, timeout: float = 60) -> dict[str, Any]:
        """A book and its primary photo through the API process: the job it queued."""
        with httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}",
            headers={"X-API-Key": API_KEY},
            timeout=timeout,
        ) as api:
            book = api.post("/books", json={"title": "fault"}).raise_for_status().json()
            response = api.post(
                f"/books/{book['id']}/images",
                files={"file": ("photo.jpg", data or jpeg(), "image/jpeg")},
                data={"is_primary": "true"},
            )
        assert response.status_code == 201, response.text
        return dict(response.json()["job"])

    def fault_at(self, operation: str, proxy: FaultProxy, fault: Fault) -> Callable[[], float]:
        """Arm `fault` on `proxy`, to begin as a job's `operation` (GetObject, PutObject) passes
        the S3 proxy; returns the wait for that moment, which gives the monotonic time of it."""
        before = len(proxy.entries("inject"))
        self.proxies.s3.when(operation_is(operation), lambda _request: proxy.inject(fault))

        def began() -> float:
            wait_until(
                lambda: len(proxy.entries("inject")) > before,
                timeout=60,
                what=f"a job's {operation}",
                processes=(self.worker.process,),
            )
            return time.monotonic()

        return began

    # --- what the processes did -----------------------------------------------------------

    def worker_log_count(self, text: str) -> int:
        """How many of the worker's JSON log lines so far mention `text`."""
        return sum(1 for record in self.worker.records() if text in record.get("message", ""))

    def beat_log(self) -> str:
        return (self.logs / "beat.log").read_text(errors="replace")

    def check_processes(self) -> None:
        """The worker is the one that started (it never exited), and beat and the API run."""
        assert self.worker.alive(), self.worker.output()[-4000:]
        assert self.worker.pid == self.worker_pid
        assert self.beat.poll() is None, self.beat_log()[-4000:]
        assert self.api.poll() is None

    # --- what every test asserts ----------------------------------------------------------

    def completed_once(
        self, job_ids: list[str], *, healed_at: float, bound: float
    ) -> dict[str, records.JobRow]:
        """Each job completed within `bound` s of the fault's end, with one result row and one
        object; no job of the stack active; the processes the same. The recovery measured."""
        remaining = max(5.0, healed_at + bound - time.time())
        rows = records.wait_for_jobs(job_ids, worker=self.worker, timeout=remaining)
        for row in rows.values():
            assert row.status is JobStatus.completed, row
            results = [image for image in records.images(row.book_id) if image.source_image_id]
            assert [image.id for image in results] == [row.result_image_id]
            assert records.object_keys(self.infrastructure, f"books/{row.book_id}_processed_") == [
                f"books/{row.book_id}_processed_{row.id}.png"
            ]
        self.nothing_active()
        self.check_processes()
        return rows

    def nothing_active(self, timeout: float = 30) -> None:
        """No job of the stack is left pending, queue_failed or processing."""

        def _active() -> int:
            with session_scope() as session:
                return int(
                    session.scalar(
                        select(func.count())
                        .select_from(ImageProcessingJob)
                        .where(ImageProcessingJob.status.in_(ACTIVE_STATUSES))
                    )
                    or 0
                )

        wait_until(lambda: _active() == 0, timeout=timeout, what="no job left active")

    def queue_drained(self, timeout: float) -> None:
        wait_until(
            lambda: records.queue_counts(self.infrastructure) == {"visible": 0, "in_flight": 0},
            timeout=timeout,
            what="every message acknowledged",
            processes=(self.worker.process,),
            interval=0.5,
        )

    @staticmethod
    def recovery_s(rows: dict[str, records.JobRow], healed_at: float) -> float:
        """From the fault's end to the last job's completion (0 when all finished during it)."""
        last = max(row.completed_at.timestamp() for row in rows.values() if row.completed_at)
        return round(max(0.0, last - healed_at), 1)

    @staticmethod
    def record_figure(test: str, *, fault: str, recovered_s: float, jobs: int) -> None:
        """One measured row of the fault matrix (docs/operations.md)."""
        FIGURES_FILE.parent.mkdir(exist_ok=True)
        with FIGURES_FILE.open("a") as figures:
            figures.write(
                json.dumps({"test": test, "fault": fault, "jobs": jobs, "recovered_s": recovered_s})
                + "\n"
            )


def start_stack(
    *,
    settings: Settings,
    infrastructure: Infrastructure,
    proxies: Proxies,
    database_url: str,
    logs: Path,
) -> FaultStack:
    """The worker, beat and the API through the proxies; every one stopped by `stop_stack`."""
    proxied_database = database_url.replace(":5432/", f":{proxies.postgres.port}/")
    env = {
        **SCALED_SETTINGS,
        "AWS_ENDPOINT_URL_SQS": proxies.sqs.url,
        "AWS_ENDPOINT_URL_S3": proxies.s3.url,
        "DATABASE_URL": proxied_database,
        "EVENTS_BROKER_URL": f"redis://127.0.0.1:{proxies.bus.port}/9",
        "API_KEY": API_KEY,
    }
    worker = start_worker(settings, logs=logs, **env).wait_ready()
    beat_env = {**worker.env, "WORKER_HEARTBEAT_FILE": str(logs / "beat.unused")}
    celery = [str(servers.VENV_BIN / "celery"), "-A", "worker.celery_app"]
    beat = servers.start_process(
        [*celery, "beat", "--loglevel", "INFO", "--schedule", str(logs / "celerybeat-schedule")],
        env=beat_env,
        log_path=logs / "beat.log",
    )
    api_port = servers.free_port()
    api = servers.start_process(
        [
            str(servers.VENV_BIN / "uvicorn"),
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
        ],
        env={**worker.env, "LOG_FORMAT": "text"},
        log_path=logs / "api.log",
    )
    servers.wait_for_port(api_port, process=api)
    return FaultStack(
        settings=settings,
        infrastructure=infrastructure,
        proxies=proxies,
        env=worker.env,
        logs=logs,
        worker=worker,
        beat=beat,
        api=api,
        api_port=api_port,
        worker_pid=worker.pid,
    )


def stop_stack(stack: FaultStack) -> None:
    stack.worker.stop()
    for process in (stack.beat, stack.api):
        servers.stop_process(process)
