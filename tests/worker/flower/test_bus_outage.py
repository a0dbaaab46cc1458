"""A lost events bus never stops task processing; events and remote control resume after it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import servers
from tests.servers import wait_until
from tests.worker.flower.fleet import Fleet, running_fleet
from tests.worker.flower.monitoring_tasks import TOUCH_TASK

pytestmark = pytest.mark.slow


def _start_private_redis(port: int, log: Path):  # -> subprocess.Popen
    """A Redis of this test's own: stopping it disturbs nobody else's 6379."""
    process = servers.start_process(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        log_path=log,
    )
    servers.wait_for_port(port, process=process)
    return process


def _state(fleet: Fleet, task_id: str) -> str | None:
    return fleet.flower_tasks().get(task_id, {}).get("state")


def _send_and_see_succeed(fleet: Fleet, marker: Path, *, timeout: float, what: str) -> None:
    """A task that touches `marker`, until Flower reports its success."""
    task_id = fleet.app.send_task(TOUCH_TASK, args=[str(marker)]).id
    wait_until(
        lambda: _state(fleet, task_id) == "SUCCESS",
        timeout=timeout,
        what=what,
        processes=(fleet.worker, fleet.flower),
    )


def _work_goes_on_without_the_bus(fleet: Fleet, bus: subprocess.Popen, tmp_path: Path) -> None:
    """The bus goes away while a task is running, and more arrive during the outage: all of
    them run, and the worker says the bus is lost."""
    slow = fleet.app.send_task(TOUCH_TASK, args=[str(tmp_path / "during-0"), 2.0]).id
    wait_until(
        lambda: _state(fleet, slow) == "STARTED",
        timeout=30,
        what="the slow task to start",
        processes=(fleet.worker, fleet.flower),
    )
    servers.stop_process(bus)
    during = [tmp_path / f"during-{index}" for index in range(3)]
    for path in during[1:]:
        fleet.app.send_task(TOUCH_TASK, args=[str(path)])
    wait_until(
        lambda: all(path.exists() for path in during),
        timeout=60,
        what="the tasks sent during the outage to run",
        processes=(fleet.worker,),
    )
    wait_until(
        lambda: "events bus lost" in fleet.worker_log.read_text(),
        timeout=20,
        what="the worker to notice the lost bus",
        processes=(fleet.worker,),
    )


def _remote_control_answers(fleet: Fleet) -> None:
    """Remote control is back too: the pidbox listens on the new connection.
    (A ping sent while the client's own pooled connection is still the one
    the restart cut may go unanswered; remote control must resume, so ask again.)"""
    replies = wait_until(
        lambda: fleet.app.control.ping(destination=[fleet.worker_name], timeout=2),
        timeout=30,
        what="the worker to answer ping over the restored bus",
        processes=(fleet.worker, fleet.flower),
    )
    assert replies == [{fleet.worker_name: {"ok": "pong"}}]


def test_tasks_complete_while_the_bus_is_down_and_events_resume_after(
    moto_endpoint: str, model_home: Path, tmp_path: Path
) -> None:
    port = servers.free_port()
    bus = _start_private_redis(port, tmp_path / "redis.log")
    try:
        with running_fleet(
            moto_endpoint=moto_endpoint, bus_url=f"redis://127.0.0.1:{port}/0", logs=tmp_path
        ) as fleet:
            _send_and_see_succeed(
                fleet, tmp_path / "before", timeout=30, what="the first task in Flower"
            )
            _work_goes_on_without_the_bus(fleet, bus, tmp_path)

            bus = _start_private_redis(port, tmp_path / "redis.log")
            wait_until(
                lambda: "is back after" in fleet.worker_log.read_text(),
                timeout=40,
                what="the worker to reconnect to the bus",
                processes=(fleet.worker, fleet.flower),
            )
            _send_and_see_succeed(
                fleet, tmp_path / "after", timeout=90, what="events to reach Flower again"
            )
            assert fleet.flower_worker_online()
            _remote_control_answers(fleet)
            assert fleet.worker.poll() is None
    finally:
        servers.stop_process(bus)
