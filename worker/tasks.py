"""Celery tasks: thin wrappers that take ids, call plain functions and map exceptions to Celery.

A transient error retries with backoff (JobTask), a job held by another worker is looked at
again later, a timeout or an unclassified error fails the job. What a job goes through is in
worker/job_runner.py; how its state changes, in app/job_lifecycle.py.
"""

from __future__ import annotations

import logging
import socket
import uuid
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from app.failure_reasons import FailureReason
from app.health import queue_depths
from app.settings import get_settings
from app.storage import get_storage
from worker import __version__
from worker.celery_app import app
from worker.job_runner import (
    JobBusyError,
    JobContext,
    TransientJobError,
    fail_best_effort,
    run_job,
)
from worker.models import runtime
from worker.sweeps import sweep_jobs as sweep

log = logging.getLogger(__name__)


class JobTask(Task):
    """Retries transient failures with exponential backoff and full jitter, then fails the job."""

    autoretry_for = (TransientJobError,)
    max_retries = 5
    retry_backoff = 2  # 2, 4, 8, 16, 32 s before jitter
    retry_backoff_max = 120
    retry_jitter = True

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, TransientJobError):  # its retries ran out
            fail_best_effort(_context(*args), exc.reason, detail=exc.detail)


@app.task(bind=True, base=JobTask, name="worker.tasks.process_image")
def process_image(self: JobTask, job_id: str, book_id: int, image_id: int) -> dict[str, Any]:
    try:
        context = _context(job_id, book_id, image_id)
    except (TypeError, ValueError):
        # Nothing to record against; acknowledged so it does not circle forever.
        log.error(
            "rejecting process_image with malformed arguments %r", (job_id, book_id, image_id)
        )
        return {"status": "rejected", "reason": "malformed_arguments"}
    try:
        return run_job(
            context,
            settings=get_settings(),
            storage=get_storage(),
            models=runtime.get_models(),
        )
    except JobBusyError as busy:
        # Not a failure: look again once the holder's claim could be stale.
        raise self.retry(countdown=busy.retry_in, max_retries=self.request.retries + 1) from None
    except SoftTimeLimitExceeded:
        fail_best_effort(context, FailureReason.timeout)
        raise
    except TransientJobError:
        raise
    except Exception:
        log.exception("job failed unexpectedly", extra=context.log_fields())
        fail_best_effort(context, FailureReason.unexpected_error)
        raise


@app.task(name="worker.tasks.sweep_jobs", ignore_result=True)
def sweep_jobs() -> dict[str, object]:
    settings = get_settings()
    try:
        queue_is_empty: bool | None = queue_depths(settings)["queue"]["messages"] == 0
    except Exception:  # the sweep still does what needs no queue reading
        log.warning("sweep could not read the queue depth", exc_info=True)
        queue_is_empty = None
    return sweep(settings=settings, queue_is_empty=queue_is_empty).as_dict()


@app.task(name="worker.tasks.smoke_test")
def smoke_test() -> dict[str, Any]:
    """Answers the deploy pipeline: this image's version and commit, and the models this process
    loaded (the smoke test compares the commit with the one it deployed)."""
    return {
        "version": __version__,
        "commit": get_settings().build_commit,
        "models": runtime.loaded_model_names(),
        "hostname": socket.gethostname(),
    }


def _context(job_id: str, book_id: int, image_id: int) -> JobContext:
    return JobContext(uuid.UUID(str(job_id)), int(book_id), int(image_id))
