"""The container health checks of the worker (consuming, models loaded in a live pool process)
and of beat (its schedule written)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from worker import beat_healthcheck, healthcheck


@pytest.fixture
def heartbeat(tmp_path: Path) -> Path:
    path = tmp_path / "worker.alive"
    path.touch()
    return path


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_consuming_worker_with_loaded_models_is_healthy(heartbeat: Path) -> None:
    healthcheck.record_models_loaded(heartbeat)
    healthy, message = healthcheck.check(heartbeat)
    assert healthy, message
    assert "models loaded in 1 pool process(es)" in message


def test_no_pool_process_with_models_is_unhealthy(heartbeat: Path) -> None:
    assert healthcheck.check(heartbeat) == (False, "no pool process has loaded its models")


def test_a_live_pool_process_whose_models_failed_is_unhealthy(heartbeat: Path) -> None:
    healthcheck.record_models_loaded(heartbeat)
    healthcheck.record_models_failed(heartbeat, RuntimeError("cannot cache function '_make_tree'"))
    healthy, message = healthcheck.check(heartbeat)
    assert not healthy
    assert f"pid {os.getpid()}: RuntimeError: cannot cache function '_make_tree'" in message


def test_stamps_of_exited_processes_are_ignored(heartbeat: Path) -> None:
    healthcheck.record_models_loaded(heartbeat)
    heartbeat.with_name(f"{heartbeat.name}.models-failed.{_dead_pid()}").write_text("old")
    healthy, message = healthcheck.check(heartbeat)
    assert healthy, message
    healthcheck.forget_process(heartbeat)
    assert healthcheck.check(heartbeat)[0] is False


def test_a_stale_or_missing_heartbeat_is_unhealthy(heartbeat: Path) -> None:
    healthcheck.record_models_loaded(heartbeat)
    late = heartbeat.stat().st_mtime + healthcheck.STALE_AFTER_S + 1
    assert healthcheck.check(heartbeat, now=late)[1].startswith("not consuming: ")
    heartbeat.unlink()
    assert healthcheck.check(heartbeat)[1].endswith("is missing")


def test_beat_is_healthy_while_its_schedule_is_written(tmp_path: Path) -> None:
    schedule = tmp_path / "celerybeat-schedule"
    assert beat_healthcheck.check(schedule) == (False, f"not ticking: no {schedule}*")
    schedule.with_name("celerybeat-schedule.db").touch()  # shelve's suffix, where dbm adds one
    assert beat_healthcheck.check(schedule)[0] is True
    late = time.time() + beat_healthcheck.STALE_AFTER_S + 1
    assert beat_healthcheck.check(schedule, now=late)[1].startswith("not ticking: the schedule")
