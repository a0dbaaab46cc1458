"""Is this worker alive and consuming? `python -m worker.healthcheck` (the container HEALTHCHECK).

A consumer bootstep touches a file every few seconds from the consumer's own
event loop, and removes it when the consumer stops (broker lost, shutdown). The
check passes while the file is fresh, so a worker whose consumer is wedged or
gone reports unhealthy even though its process still runs.
"""

from __future__ import annotations

import logging
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


def check(path: Path, *, now: float | None = None) -> tuple[bool, str]:
    try:
        age = (now or time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return False, f"not consuming: {path} is missing"
    if age > STALE_AFTER_S:
        return False, f"not consuming: {path} last touched {age:.0f} s ago"
    return True, f"consuming: {path} touched {age:.0f} s ago"


def main() -> int:
    healthy, message = check(get_settings().worker_heartbeat_file)
    print(message)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
