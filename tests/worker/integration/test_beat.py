"""Beat on the local stack (Postgres, SQS on moto_server): its sweeps never touch the work queue.

The autoscaler starts a worker whenever the queue holds a message; a sweep sent through the
queue every minute would keep one worker running on an idle fleet. Beat runs each sweep in its
own process instead, and only a job that needs a worker reaches the queue. The orphan sweep runs
there too, on its own schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.models import JobStatus
from app.settings import Settings
from tests import servers
from tests.app_stack import Infrastructure
from tests.servers import wait_until
from tests.worker.integration import records
from tests.worker.integration.workers import worker_env

SWEEP_INTERVAL_S = 1.0


@pytest.fixture
def beat_log(app_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Path]:
    """`celery beat` as the container runs it, sweeping every second; stopped by PID."""
    settings = app_settings()
    log_path = tmp_path / "beat.log"
    env = worker_env(
        settings,
        heartbeat_file=tmp_path / "unused.alive",
        SWEEP_INTERVAL_SECONDS=str(SWEEP_INTERVAL_S),
        ORPHAN_SWEEP_INTERVAL_SECONDS=str(SWEEP_INTERVAL_S),
        ORPHAN_OBJECT_MIN_AGE_SECONDS="0",
    )
    command = [str(servers.VENV_BIN / "celery"), "-A", "worker.celery_app", "beat"]
    process = servers.start_process(
        [*command, "--loglevel", "INFO", "--schedule", str(tmp_path / "celerybeat-schedule")],
        env=env,
        log_path=log_path,
    )
    try:
        yield log_path
    finally:
        servers.stop_process(process)


def _sweeps(log_path: Path) -> int:
    return log_path.read_text(errors="replace").count("worker.tasks.sweep_jobs ran in beat")


def test_beat_sweeps_in_its_own_process_and_leaves_an_idle_queue_empty(
    beat_log: Path, infrastructure: Infrastructure
) -> None:
    wait_until(
        lambda: "beat: Starting..." in beat_log.read_text(errors="replace"),
        timeout=60,
        what="beat to start",
    )
    counts = []
    deadline = time.monotonic() + 6 * SWEEP_INTERVAL_S
    while time.monotonic() < deadline:
        counts.append(records.queue_counts(infrastructure))
        time.sleep(0.2)
    # At no moment did the work queue hold a message, and yet several sweeps ran.
    assert all(count == {"visible": 0, "in_flight": 0} for count in counts), counts
    assert _sweeps(beat_log) >= 4, beat_log.read_text()

    # A job whose publish failed: the next sweep republishes it, and it is all the queue holds.
    job_id = records.add_job(status=JobStatus.queue_failed, enqueue_attempts=1)
    wait_until(
        lambda: records.queue_counts(infrastructure)["visible"] == 1,
        timeout=30,
        what="the sweep to republish the job",
    )
    assert records.job(job_id).status is JobStatus.pending
    assert records.published_job_ids(infrastructure) == [job_id]


def test_beat_sweeps_orphaned_objects_on_its_own_schedule(
    beat_log: Path, infrastructure: Infrastructure
) -> None:
    """An object no row names goes (the minimum age is 0 here); the one a row names and the
    listings area stay."""
    book_id, _ = records.add_book_with_image(s3_key_name="photo.jpg")
    named = f"books/{book_id}/photo.jpg"
    for key in (named, f"books/{book_id}/never-committed.jpg", "listings/L-1/a.jpg"):
        records.put_object(infrastructure, key, b"x")
    wait_until(
        lambda: records.object_keys(infrastructure, "books/") == [named],
        timeout=60,
        what="the orphan sweep to delete the object",
    )
    assert "worker.tasks.sweep_orphans ran in beat" in beat_log.read_text(errors="replace")
    assert records.object_keys(infrastructure, "listings/") == ["listings/L-1/a.jpg"]
    assert records.queue_counts(infrastructure) == {"visible": 0, "in_flight": 0}
