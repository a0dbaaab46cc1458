"""Celery tasks: thin wrappers that take ids, call plain functions and record the outcome."""

from __future__ import annotations

import socket
from typing import Any

from worker import __version__, runtime
from worker.celery_app import app


@app.task(name="worker.tasks.smoke_test")
def smoke_test() -> dict[str, Any]:
    """Answers the deploy pipeline: this image's version and the models this process loaded."""
    return {
        "version": __version__,
        "models": runtime.loaded_model_names(),
        "hostname": socket.gethostname(),
    }
