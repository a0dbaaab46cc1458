"""Test-only tasks, loaded by the test worker with `--include` (process_image needs the DB)."""

from __future__ import annotations

import time
from pathlib import Path

from worker.celery_app import app

FAIL_TASK = "tests.monitoring.fail"
TOUCH_TASK = "tests.monitoring.touch"


@app.task(name=FAIL_TASK)
def fail(reason: str) -> None:
    """Ends in FAILURE, so Flower must show that state."""
    raise RuntimeError(reason)


@app.task(name=TOUCH_TASK)
def touch(path: str, seconds: float = 0.0) -> str:
    """Writes a marker file after `seconds`: proof that the task ran, with no result backend."""
    time.sleep(seconds)
    Path(path).write_text("done")
    return path
