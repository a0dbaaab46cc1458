"""Celery tasks: thin wrappers that take ids, call plain functions and map exceptions to Celery.

A transient error (S3 or the database unreachable) retries with jittered exponential backoff for
RETRY_BUDGET_SECONDS from the job's first such failure, then fails the job with its reason; a job
held by another worker is looked at again later; a timeout or an unclassified error fails the
job; a message whose arguments name no job is rejected, so the queue's redrive policy takes it
to the dead-letter queue. What a job goes through is in worker/job_runner.py; how its state
changes, in app/job_lifecycle.py.
"""

from __future__ import annotations

import inspect
import logging
import random
import socket
import time
import uuid
from typing import Any, NoReturn

from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from sqlalchemy.exc import DBAPIError

from app.failure_reasons import FailureReason
from app.health import queue_depths
from app.settings import Settings, get_settings
from app.storage import Storage, get_storage
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
from worker.orphans import OrphanCursor, sweep_orphaned_objects
from worker.sweeps import DatabaseWatch
from worker.sweeps import sweep_jobs as sweep

log = logging.getLogger(__name__)


class JobTask(Task):
    """process_image's base: arguments checked before the body runs, retries budgeted by time.

    `max_retries` is None, so Celery never ends a retry chain: the time budget does. No
    `max_retries` is ever passed to `retry()`: Celery 5.7 keeps it on this task object, which a
    pool process shares between jobs, and the next job's retries inherit it (docs/operations.md,
    "Upstream reports").
    """

    max_retries = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            inspect.signature(self.run).bind(*args, **kwargs)
        except TypeError as error:
            _reject_malformed(args, kwargs, error)
        return super().__call__(*args, **kwargs)


@app.task(bind=True, base=JobTask, name="worker.tasks.process_image")
def process_image(
    self: JobTask,
    job_id: str,
    book_id: int,
    image_id: int,
    retrying_since: float | None = None,
) -> dict[str, Any]:
    """`retrying_since`: when the job's first transient failure happened (epoch seconds); the
    retries carry it, so the budget spans the whole chain."""
    try:
        context = _context(job_id, book_id, image_id)
    except (TypeError, ValueError) as error:
        _reject_malformed((job_id, book_id, image_id), {}, error)
    settings = get_settings()
    storage = get_storage()  # no I/O: the S3 client is built on first use
    try:
        return run_job(context, settings=settings, storage=storage, models=runtime.get_models())
    except JobBusyError as busy:
        # Not a failure: look again once the holder's claim could be stale.
        raise self.retry(
            args=[job_id, book_id, image_id],
            kwargs={"retrying_since": retrying_since},
            countdown=busy.retry_in,
        ) from None
    except TransientJobError as error:
        return _retry_within_budget(
            self, context, error, since=retrying_since, settings=settings, storage=storage
        )
    except SoftTimeLimitExceeded:
        fail_best_effort(context, FailureReason.timeout, storage=storage)
        raise
    except Exception:
        log.exception("job failed unexpectedly", extra=context.log_fields())
        fail_best_effort(context, FailureReason.unexpected_error, storage=storage)
        raise


def retry_backoff(retries: int, settings: Settings) -> float:
    """Seconds before retry number `retries` + 1: doubling from the first to the maximum, with
    "equal jitter" (half fixed, half random), so a fleet does not retry an outage in step."""
    ceiling = min(
        settings.retry_backoff_max_seconds, settings.retry_backoff_first_seconds * 2**retries
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not secrets


def _retry_within_budget(
    task: JobTask,
    context: JobContext,
    error: TransientJobError,
    *,
    since: float | None,
    settings: Settings,
    storage: Storage,
) -> dict[str, Any]:
    """Retry the job later while its budget lasts (the job was handed back to pending); past
    it, fail the job with the error's reason."""
    now = time.time()
    since = now if since is None else since
    spent = now - since
    if spent >= settings.retry_budget_seconds:
        detail = f"{error.detail}; retried for {spent:.0f} s"
        fail_best_effort(context, error.reason, storage=storage, detail=detail)
        return context.outcome("failed", reason=error.reason.value)
    countdown = retry_backoff(task.request.retries, settings)
    log.warning(
        "job will retry in %.1f s: %s (retrying for %.0f of %d s)",
        countdown,
        error.detail,
        spent,
        settings.retry_budget_seconds,
        extra=context.log_fields(retries=task.request.retries),
    )
    # If even this publish fails (SQS down too), Celery rejects the message: SQS hands it out
    # again after its visibility timeout, and the released job is claimed afresh.
    raise task.retry(
        args=[str(context.job_id), context.book_id, context.image_id],
        kwargs={"retrying_since": since},
        countdown=countdown,
    )


def _reject_malformed(args: Any, kwargs: Any, error: BaseException) -> NoReturn:
    """No job to record against: rejected, so the queue's redrive policy moves the message to
    the dead-letter queue after maxReceiveCount deliveries, where an operator can read it."""
    log.error(
        "rejecting process_image with malformed arguments %r %r (%s): it goes to the "
        "dead-letter queue",
        args,
        kwargs,
        error,
    )
    raise Reject(f"malformed arguments: {error}", requeue=False)


# Beat's own, in beat's process (worker/beat_scheduler.py runs the sweeps there).
_database_watch: DatabaseWatch | None = None


@app.task(name="worker.tasks.sweep_jobs", ignore_result=True)
def sweep_jobs() -> dict[str, object]:
    global _database_watch
    settings = get_settings()
    watch = _database_watch = _database_watch or DatabaseWatch(settings)
    try:
        queue_is_empty: bool | None = queue_depths(settings)["queue"]["messages"] == 0
    except Exception:  # the sweep still does what needs no queue reading
        log.warning("sweep could not read the queue depth", exc_info=True)
        queue_is_empty = None
    try:
        report = sweep(
            settings=settings,
            queue_is_empty=queue_is_empty,
            recover_dead_workers=watch.may_recover(),
        )
    except DBAPIError:
        watch.failed()
        raise
    return report.as_dict()


# Where beat's next orphan sweep starts (worker/orphans.py); beat's own, like the watch above.
_orphan_cursor = OrphanCursor()


@app.task(name="worker.tasks.sweep_orphans", ignore_result=True)
def sweep_orphans() -> dict[str, object]:
    """Objects under the images prefix that no row names, a bounded page per run."""
    report = sweep_orphaned_objects(
        settings=get_settings(), storage=get_storage(), cursor=_orphan_cursor
    )
    return report.as_dict()


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
