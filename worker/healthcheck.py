"""Is this worker alive, consuming, and able to work? `python -m worker.healthcheck`.

The container health check. Two signals, both files beside WORKER_HEARTBEAT_FILE:
- a consumer bootstep writes the heartbeat file every few seconds from the consumer's own
  event loop while the SQS polling loop is going round (worker/sqs_transport.py records each
  round, a failed receive included), and removes it when the consumer stops. A worker whose
  loop is wedged, or whose polling stopped while its loop runs, reports unhealthy within two
  minutes; one that polls and meets broker errors stays healthy, since the outage is not its
  fault and a new worker would meet it too, and the file carries the count of those errors;
- each pool process leaves a stamp when it has loaded its models, or a failure stamp
  with the error when it could not. Celery only logs an exception raised in
  `worker_process_init` and then hands that process tasks, every one of which would
  fail, so a live pool process with a failure stamp, or no live process with its models
  loaded, is unhealthy too.
"""

from __future__ import annotations

import json
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
    """Write the heartbeat file while the consumer is running and its polling goes round."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        settings = get_settings()
        self.path = settings.worker_heartbeat_file
        # A live polling loop shows life (a receive begun or ended) at least every 20 s: kombu
        # gives up on a receive after 20 s, and the backoff after failures is at most 20 s.
        self.poll_stale_after = settings.worker_poll_stale_seconds
        self.timer_entry: Any = None
        self._stalled_logged = False
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
        # Imported here: the health check command itself needs neither kombu's SQS nor boto3.
        from worker.sqs_transport import receive_watch

        # Other brokers (no sqs_transport channel) are watched by the event loop's timer alone.
        idle_for = receive_watch.seconds_since_poll() if receive_watch.active else 0.0
        if idle_for > self.poll_stale_after:
            if not self._stalled_logged:
                self._stalled_logged = True
                log.error(
                    "the consumer has not polled SQS for %.0f s: reporting unhealthy", idle_for
                )
            return
        self._stalled_logged = False
        try:
            self.path.write_text(json.dumps(receive_watch.as_dict()))
        except OSError:
            log.warning("cannot write the health-check file %s", self.path, exc_info=True)


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
        f"models loaded in {len(loaded)} pool process(es){_broker_errors(path)}"
    )


def _broker_errors(path: Path) -> str:
    """The receive errors the consumer counted, if any: a healthy worker's note for the operator."""
    try:
        counts = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return ""
    if not counts.get("receive_errors"):
        return ""
    return (
        f"; {counts['receive_errors']} failed SQS receive(s) since start, "
        f"{counts.get('receive_errors_in_a_row', 0)} in a row "
        f"(last: {counts.get('last_receive_error', '')})"
    )


def main() -> int:
    healthy, message = check(get_settings().worker_heartbeat_file)
    print(message)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
