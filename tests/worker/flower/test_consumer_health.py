"""The worker's health check follows its SQS polling: told to stop consuming, a worker whose
process and event loop carry on reports unhealthy within two minutes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests import servers
from tests.servers import wait_until
from tests.worker.flower.fleet import running_fleet

pytestmark = [pytest.mark.model, pytest.mark.slow]

# WORKER_POLL_STALE_SECONDS, 60 in production; above the 20 s a live loop may be quiet.
POLL_STALE_S = 25


def _health() -> tuple[bool, str]:
    check = subprocess.run(
        [str(servers.VENV_BIN / "python"), "-m", "worker.healthcheck"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return check.returncode == 0, check.stdout.strip()


def test_a_consumer_that_stops_polling_reports_unhealthy(
    moto_endpoint: str,
    shared_bus_url: str,
    model_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKER_HEARTBEAT_FILE", str(tmp_path / "worker.alive"))
    monkeypatch.setenv("WORKER_POLL_STALE_SECONDS", str(POLL_STALE_S))
    with running_fleet(moto_endpoint=moto_endpoint, bus_url=shared_bus_url, logs=tmp_path) as fleet:
        wait_until(lambda: _health()[0], timeout=60, what="the worker to report healthy")
        replies = fleet.app.control.cancel_consumer(
            fleet.env["IMAGE_PROCESSING_QUEUE_NAME"],
            destination=[fleet.worker_name],
            reply=True,
            timeout=5,
        )
        assert replies, "the worker did not answer cancel_consumer"
        stopped = time.monotonic()

        report = wait_until(
            lambda: (result := _health()) and not result[0] and result[1],
            timeout=120,
            what="the health check to report a consumer that stopped polling",
            interval=2,
        )
        assert report.startswith("not consuming"), report
        assert time.monotonic() - stopped < 120
        assert fleet.worker.poll() is None  # its process and event loop run on
