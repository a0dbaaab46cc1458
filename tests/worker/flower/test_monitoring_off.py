"""Without EVENTS_BROKER_URL the worker runs as before; Flower refuses to start half-configured."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from tests import servers
from tests.conftest import REPO_ROOT
from tests.servers import wait_until
from tests.worker.flower.fleet import TEST_TASKS_MODULE, client_app, create_queues
from tests.worker.flower.monitoring_tasks import TOUCH_TASK


@pytest.mark.slow
def test_worker_without_a_bus_processes_tasks_and_says_once_that_monitoring_is_off(
    moto_endpoint: str, model_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = f"monitoring-off-{uuid.uuid4().hex[:8]}"
    create_queues(moto_endpoint, queue)
    monkeypatch.delenv("EVENTS_BROKER_URL", raising=False)
    for key, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "IMAGE_PROCESSING_QUEUE_NAME": queue,
        "MODEL_CHAIN": "u2netp",
        "LOG_FORMAT": "text",
    }.items():
        monkeypatch.setenv(key, value)
    app = client_app()
    log = tmp_path / "worker.log"
    worker = servers.start_process(
        servers.celery_worker_command(f"{queue}@%h", concurrency=1, include=TEST_TASKS_MODULE),
        log_path=log,
    )
    try:
        marker = tmp_path / "ran"
        app.send_task(TOUCH_TASK, args=[str(marker)])
        wait_until(marker.exists, timeout=90, what="the task to run", processes=(worker,))
    finally:
        servers.stop_process(worker, timeout=30)
        app.close()
    text = log.read_text()
    assert text.count("monitoring is off") == 1
    assert "task events: OFF" in text
    assert "events bus" not in text


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("FLOWER_BASIC_AUTH", "never runs without authentication"),
        ("EVENTS_BROKER_URL", "EVENTS_BROKER_URL is not set"),
    ],
)
def test_flower_refuses_to_start_without_its_settings(
    missing: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "EVENTS_BROKER_URL": "redis://127.0.0.1:1/0",
        "FLOWER_BASIC_AUTH": "a:b",
        "LOG_FORMAT": "text",
    }
    env.pop(missing)
    for key in ("EVENTS_BROKER_URL", "FLOWER_BASIC_AUTH"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    done = subprocess.run(
        [str(servers.VENV_BIN / "python"), "-m", "worker.flower"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stdout + done.stderr


@pytest.mark.parametrize("value", ["admin", ":secret", "admin:", " , "])
def test_malformed_basic_auth_is_refused(value: str) -> None:
    from worker.monitoring.flower_web import parse_basic_auth

    with pytest.raises(ValueError, match="FLOWER_BASIC_AUTH"):
        parse_basic_auth(value)
