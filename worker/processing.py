"""One job from claim to result: DESIGN.md "process_image", steps 1-6, without Celery.

Failures are classified: `TransientJobError` (S3 throttling or connection
trouble, a lost database connection) is retried by the task with backoff;
everything else ends the job `failed` with a named reason, once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from app.db import session_scope
from app.models import BookImage
from app.settings import Settings
from app.storage import ObjectNotFoundError, Storage, TransientStorageError
from worker.jobs import ClaimOutcome, claim_job, complete_job, fail_job, release_job
from worker.mask_models import MaskModel
from worker.pipeline import PipelineConfig, PipelineError, process_image_bytes

log = logging.getLogger(__name__)


class TransientJobError(Exception):
    """Worth retrying later; the job was released back to pending first."""

    def __init__(self, reason: str, cause: BaseException | str) -> None:
        detail = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        # Celery hands `on_failure` the exception only if it survives pickling, and an
        # UnpickleableExceptionWrapper otherwise; rebuilt from (reason, detail) it stays a
        # TransientJobError, so a job whose retries ran out is failed, not left pending.
        return (type(self), (self.reason, self.detail))


class JobBusyError(Exception):
    """Another worker holds the job; try again once its claim could have gone stale."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"job held by another worker; stale in {retry_in:.0f} s")
        self.retry_in = retry_in


@dataclass(frozen=True)
class JobContext:
    job_id: uuid.UUID
    book_id: int
    image_id: int

    def log_fields(self, **more: Any) -> dict[str, Any]:
        return {
            "job_id": str(self.job_id),
            "book_id": self.book_id,
            "image_id": self.image_id,
        } | more


def result_key(book_id: int, job_id: uuid.UUID) -> str:
    """A function of the job: a redelivered task overwrites its own object, never adds one."""
    return f"{book_id}_processed_{job_id}.png"


def run_job(
    context: JobContext,
    *,
    settings: Settings,
    storage: Storage,
    models: Sequence[MaskModel],
) -> dict[str, Any]:
    """Process the job; returns what happened (also the task's return value, for Flower)."""
    started = time.perf_counter()
    try:
        with session_scope() as session:
            claim = claim_job(
                session=session,
                job_id=context.job_id,
                stale_after=timedelta(seconds=settings.task_time_limit),
                max_attempts=settings.max_processing_attempts,
            )
            source = session.get(BookImage, context.image_id)
            source_key = source.s3_key if source is not None else None
    except (OperationalError, DBAPIError) as error:
        raise TransientJobError("database_unavailable", error) from error
    if claim.outcome is ClaimOutcome.BUSY:
        raise JobBusyError(claim.retry_in)
    if claim.outcome is not ClaimOutcome.CLAIMED:
        log.info("job not claimed: %s", claim.outcome.value, extra=context.log_fields())
        return {"job_id": str(context.job_id), "status": claim.outcome.value}
    if source_key is None:
        return _fail(context, "source_image_not_found", started)

    try:
        data = storage.get(source_key)
    except ObjectNotFoundError:
        return _fail(context, "source_object_missing", started)
    except TransientStorageError as error:
        _release(context)
        raise TransientJobError("storage_unavailable", error) from error
    fetched = time.perf_counter()

    try:
        result = process_image_bytes(
            data, models=models, config=PipelineConfig.from_settings(settings)
        )
    except PipelineError as error:
        return _fail(context, error.reason, started, detail=error.detail)
    processed = time.perf_counter()

    key = result_key(context.book_id, context.job_id)
    try:
        storage.put(key, result.png, content_type="image/png")
        with session_scope() as session:
            result_image_id = complete_job(
                session=session,
                job_id=context.job_id,
                result_key=key,
                model=result.model,
                brightness=result.brightness,
                background=result.background,
            )
    except TransientStorageError as error:
        _release(context)
        raise TransientJobError("storage_unavailable", error) from error
    except (OperationalError, DBAPIError) as error:
        _release(context)
        raise TransientJobError("database_unavailable", error) from error
    finished = time.perf_counter()
    fields = context.log_fields(
        model=result.model,
        brightness=round(result.brightness, 1),
        background=result.background,
        result_image_id=result_image_id,
        fetch_s=round(fetched - started, 3),
        pipeline_s=round(processed - fetched, 3),
        store_s=round(finished - processed, 3),
        total_s=round(finished - started, 3),
        **{f"pipeline_{name}": round(value, 3) for name, value in result.timings.items()},
    )
    if result_image_id is None:
        log.warning("job finished elsewhere meanwhile; result not recorded", extra=fields)
        return {"job_id": str(context.job_id), "status": "finished"}
    log.info("job completed", extra=fields)
    return (
        {"job_id": str(context.job_id), "status": "completed"}
        | {key: fields[key] for key in ("model", "background", "result_image_id", "total_s")}
        | {"service_s": fields["pipeline_s"]}
    )


def fail_after_retries(context: JobContext, reason: str) -> None:
    """The retry budget is spent: the job fails with the reason it kept hitting."""
    with session_scope() as session:
        fail_job(session=session, job_id=context.job_id, reason=f"{reason}_retries_exhausted")
    log.error("job failed after retries: %s", reason, extra=context.log_fields(reason=reason))


def _fail(context: JobContext, reason: str, started: float, detail: str = "") -> dict[str, Any]:
    with session_scope() as session:
        fail_job(session=session, job_id=context.job_id, reason=reason)
    log.warning(
        "job failed: %s %s",
        reason,
        detail,
        extra=context.log_fields(reason=reason, total_s=round(time.perf_counter() - started, 3)),
    )
    return {"job_id": str(context.job_id), "status": "failed", "reason": reason}


def _release(context: JobContext) -> None:
    try:
        with session_scope() as session:
            release_job(session=session, job_id=context.job_id)
    except (OperationalError, DBAPIError):
        # The database is gone too; the job stays `processing` and the beat sweep
        # recovers it once its claim is stale.
        log.warning("could not release job for retry", extra=context.log_fields())
