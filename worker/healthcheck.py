"""Is this worker alive, consuming, and able to work? `python -m worker.healthcheck`.

The container health check. Two signals, both files beside WORKER_HEARTBEAT_FILE:
- a consumer bootstep touches the heartbeat file every few seconds from the consumer's
  own event loop, and removes it when the consumer stops (broker lost, shutdown), so a
  worker whose consumer is wedged or gone reports unhealthy though its process runs;
- each pool process leaves a stamp when it has loaded its models, or a failure stamp
  with the error when it could not. Celery only logs an exception raised in
  `worker_process_init` and then hands that process tasks, every one of which would
  fail, so a live pool process with a failure stamp, or no live process with its models
  loaded, is unhealthy too.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from celery import bootsteps

from app.settings import get_settings

log = logging.getLogger(__name__)

TOUCH_EVERY_S = 10.0
# Three missed touches: slow enough to ride out a busy event loop, fast enough for ECS.
STALE_AFTER_S = 3 * TOUCH_EVERY_S


class ConsumingHeartbeat(bootsteps.StartStopStep):
    """Touch the heartbeat file while the consumer is running."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        self.path = get_settings().worker_heartbeat_file
        self.timer_entry: Any = None
        super().__init__(parent, **kwargs)

    def start(self, parent: Any) -> None:
        self._touch()
        self.timer_entry = parent.timer.call_repeatedly(TOUCH_EVERY_S, self._touch)

    def stop(self, parent: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
        self.path.unlink(missing_ok=True)

    shutdown = stop

    def _touch(self) -> None:
        try:
            self.path.touch()
        except OSError:
            log.warning("cannot touch the health-check file %s", self.path, exc_info=True)


def _stamp(heartbeat: Path, state: str, pid: int) -> Path:
    return heartbeat.with_name(f"{heartbeat.name}.models-{state}.{pid}")


def record_models_loaded(heartbeat: Path) -> None:
    """In a pool process whose models loaded."""
    _stamp(heartbeat, "failed", os.getpid()).unlink(missing_ok=True)
    _stamp(heartbeat, "loaded", os.getpid()).touch()


def record_models_failed(heartbeat: Path, error: BaseException) -> None:
    """In a pool process whose models did not load: the check names the error."""
    _stamp(heartbeat, "loaded", os.getpid()).unlink(missing_ok=True)
    _stamp(heartbeat, "failed", os.getpid()).write_text(f"{type(error).__name__}: {error}"[:500])


def forget_process(heartbeat: Path) -> None:
    """A pool process that exits cleanly takes its stamps with it."""
    for state in ("loaded", "failed"):
        _stamp(heartbeat, state, os.getpid()).unlink(missing_ok=True)


def _live_stamps(heartbeat: Path, state: str) -> dict[int, Path]:
    """The stamps of processes still running (a killed process leaves its stamp behind)."""
    live = {}
    for stamp in heartbeat.parent.glob(f"{heartbeat.name}.models-{state}.*"):
        pid = int(stamp.name.rsplit(".", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass  # alive, under another user
        live[pid] = stamp
    return live


def check(path: Path, *, now: float | None = None) -> tuple[bool, str]:
    try:
        age = (now or time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return False, f"not consuming: {path} is missing"
    if age > STALE_AFTER_S:
        return False, f"not consuming: {path} last touched {age:.0f} s ago"
    failed = _live_stamps(path, "failed")
    if failed:
        pid, stamp = min(failed.items())
        return False, (
            f"models not loaded in {len(failed)} pool process(es), "
            f"pid {pid}: {stamp.read_text(errors='replace')}"
        )
    loaded = _live_stamps(path, "loaded")
    if not loaded:
        return False, "no pool process has loaded its models"
    return True, (
        f"consuming: {path} touched {age:.0f} s ago; "
        f"models loaded in {len(loaded)} pool process(es)"
    )


def main() -> int:
    healthy, message = check(get_settings().worker_heartbeat_file)
    print(message)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
