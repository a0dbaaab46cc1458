"""One job from claim to stored result, without Celery: claim -> fetch -> process -> store.

DESIGN.md "process_image", steps 1-6. Failures are classified: storage or database trouble
raises TransientJobError (the task retries it with backoff, after handing the job back to
pending); a permanent problem fails the job once with a FailureReason. Every change of the
job's state goes through app/job_lifecycle.py. A job that ends failed leaves no result object
behind: whichever run stored one, it is deleted once the failure is recorded (worker/orphans.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError

from app.db import session_scope
from app.failure_reasons import FailureReason
from app.job_lifecycle import ClaimOutcome, claim_job, complete_job, fail_job, release_job
from app.models import BookImage
from app.processing_overrides import Backdrop, ProcessingOverrides
from app.settings import Settings
from app.storage import ObjectNotFoundError, Storage, TransientStorageError
from worker.models.base import MaskModel
from worker.orphans import discard_failed_result
from worker.pipeline import PipelineConfig, PipelineError, PipelineResult, process_image_bytes

log = logging.getLogger(__name__)


class TransientJobError(Exception):
    """Worth retrying later; the job was handed back to pending first.

    `reason` is what the job fails with if the task's retries run out.
    """

    def __init__(self, reason: FailureReason | str, cause: BaseException | str) -> None:
        detail = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        self.reason = FailureReason(reason)
        self.detail = detail
        super().__init__(f"{detail} (when the retries run out: {self.reason})")

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


class JobFailedError(Exception):
    """A permanent problem with the job's input: it fails once with `reason` (no retry)."""

    def __init__(self, reason: FailureReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


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

    def outcome(self, status: str, **more: Any) -> dict[str, Any]:
        """The task's return value (Flower shows it): the job and what became of it."""
        return {"job_id": str(self.job_id), "status": status} | more


class _Laps:
    """Seconds spent in each step since the previous one, for the outcome's log line."""

    def __init__(self) -> None:
        self._started = self._last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 3)
        self._last = now

    def total(self) -> float:
        return round(self._last - self._started, 3)


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
    """claim -> fetch -> process -> store; what happened (also the task's return value)."""
    laps = _Laps()
    outcome, overrides = claim(context, settings=settings)
    if outcome is not ClaimOutcome.CLAIMED:
        log.info("job not claimed: %s", outcome.value, extra=context.log_fields())
        if outcome is ClaimOutcome.EXHAUSTED:  # failed as worker_lost: a dead run may have stored
            discard_result(context, storage=storage)
        return context.outcome(outcome.value)
    try:
        chain = chosen_models(models, overrides)
        data = fetch(context, storage=storage)
        laps.lap("fetch_s")  # with the claim: the time before the pipeline starts
        result = process(data, settings=settings, models=chain, backdrop=overrides.backdrop)
        laps.lap("pipeline_s")
    except JobFailedError as failed:
        return fail(context, failed.reason, storage=storage, detail=failed.detail)
    result_image_id = store(context, storage=storage, result=result)
    laps.lap("store_s")
    return _report(context, result=result, result_image_id=result_image_id, laps=laps)


def claim(context: JobContext, *, settings: Settings) -> tuple[ClaimOutcome, ProcessingOverrides]:
    """Step 1: take the job (DESIGN.md's claim), with the overrides its row recorded (never the
    message's: a redelivered message cannot ask for something else); JobBusyError while
    another worker holds it."""
    with _retry_on_outage(context, release=False), session_scope() as session:
        # Nothing is claimed until this commits, so an outage here has nothing to hand back.
        taken = claim_job(
            session=session,
            job_id=context.job_id,
            stale_after=timedelta(seconds=settings.task_time_limit),
            max_attempts=settings.max_processing_attempts,
        )
        job = taken.job
        overrides = (
            ProcessingOverrides()
            if job is None
            else ProcessingOverrides.of_job(job.requested_model_chain, job.requested_backdrop)
        )
    if taken.outcome is ClaimOutcome.BUSY:
        raise JobBusyError(taken.retry_in)
    return taken.outcome, overrides


def chosen_models(
    models: Sequence[MaskModel], overrides: ProcessingOverrides
) -> Sequence[MaskModel]:
    """The loaded chain, or the models the job asked for in its order; JobFailedError
    (model_not_loaded) for one this process did not load (it never loads one per task)."""
    if overrides.model_chain is None:
        return models
    loaded = {model.name: model for model in models}
    missing = [name for name in overrides.model_chain if name not in loaded]
    if missing:
        raise JobFailedError(
            FailureReason.model_not_loaded,
            f"asked for {', '.join(missing)}; loaded {', '.join(loaded)}",
        )
    return [loaded[name] for name in overrides.model_chain]


def fetch(context: JobContext, *, storage: Storage) -> bytes:
    """Steps 2-3: the source image's row, then its bytes; JobFailedError when either is gone."""
    with _retry_on_outage(context):
        with session_scope() as session:
            source = session.get(BookImage, context.image_id)
            source_key = source.s3_key if source is not None else None
        if source_key is None:
            raise JobFailedError(FailureReason.source_image_not_found, f"image {context.image_id}")
        try:
            return storage.get(source_key)
        except ObjectNotFoundError:
            raise JobFailedError(FailureReason.source_object_missing, source_key) from None


def process(
    data: bytes,
    *,
    settings: Settings,
    models: Sequence[MaskModel],
    backdrop: Backdrop | None = None,
) -> PipelineResult:
    """Step 4: the pure pipeline; a reason it names fails the job."""
    try:
        return process_image_bytes(
            data, models=models, config=PipelineConfig.from_settings(settings), backdrop=backdrop
        )
    except PipelineError as error:
        raise JobFailedError(error.reason, error.detail) from error


def store(context: JobContext, *, storage: Storage, result: PipelineResult) -> int | None:
    """Steps 5-6: the PNG at the job's key, then its image row and `completed` in one
    transaction; the row's id, or None when the job finished elsewhere meanwhile."""
    key = result_key(context.book_id, context.job_id)
    with _retry_on_outage(context):
        storage.put(key, result.png, content_type="image/png")
        with session_scope() as session:
            result_image_id = complete_job(
                session=session,
                job_id=context.job_id,
                result_key=key,
                model=result.model,
                escalated=result.escalated,
                brightness=result.brightness,
                background=result.background,
            )
    if result_image_id is None:  # finished elsewhere: if it failed there, this PNG is nobody's
        discard_result(context, storage=storage)
    return result_image_id


def fail(
    context: JobContext, reason: FailureReason, *, storage: Storage, detail: str = ""
) -> dict[str, Any]:
    """The job -> failed with `reason`, once; the detail goes to the log, never to the row."""
    _record_failure(context, reason, detail=detail, level=logging.WARNING)
    discard_result(context, storage=storage)
    return context.outcome("failed", reason=reason.value)


def fail_best_effort(
    context: JobContext, reason: FailureReason, *, storage: Storage, detail: str = ""
) -> None:
    """The task's last word (timeout, unexpected error, retries spent): failed with `reason`.

    Never raises: when even the database is gone, the job stays `processing` and the beat
    sweep recovers it once its claim is stale.
    """
    try:
        _record_failure(context, reason, detail=detail, level=logging.ERROR)
    except Exception:  # whatever it was, the sweep is the fallback; the log says what
        log.exception("could not record the failure", extra=context.log_fields(reason=reason.value))
        return
    discard_result(context, storage=storage)


def discard_result(context: JobContext, *, storage: Storage) -> None:
    """The job's result object goes if the job has failed and no row names it. Called once a
    failure is committed (never before), and by a run whose job finished elsewhere; a job that
    completed keeps its result, whatever fails afterwards."""
    discard_failed_result(
        storage=storage,
        job_id=context.job_id,
        key=result_key(context.book_id, context.job_id),
        log_fields=context.log_fields(),
    )


def _record_failure(context: JobContext, reason: FailureReason, *, detail: str, level: int) -> None:
    with session_scope() as session:
        fail_job(session=session, job_id=context.job_id, reason=reason)
    log.log(
        level,
        "job failed: %s %s",
        reason.value,
        detail,
        extra=context.log_fields(reason=reason.value),
    )


@contextmanager
def _retry_on_outage(context: JobContext, *, release: bool = True) -> Iterator[None]:
    """Storage or database trouble -> TransientJobError, which the task retries with backoff.

    With `release`, the claimed job goes back to pending first, so the retry can claim it.
    """
    try:
        yield
    except TransientStorageError as error:
        if release:
            _release(context)
        raise TransientJobError(
            FailureReason.storage_unavailable_retries_exhausted, error
        ) from error
    except DBAPIError as error:  # OperationalError (a lost connection) is one of these
        if release:
            _release(context)
        raise TransientJobError(
            FailureReason.database_unavailable_retries_exhausted, error
        ) from error


def _release(context: JobContext) -> None:
    try:
        with session_scope() as session:
            release_job(session=session, job_id=context.job_id)
    except DBAPIError:
        # The database is gone too; the job stays `processing` and the beat sweep
        # recovers it once its claim is stale.
        log.warning("could not release job for retry", extra=context.log_fields())


def _report(
    context: JobContext, *, result: PipelineResult, result_image_id: int | None, laps: _Laps
) -> dict[str, Any]:
    """One structured log line for the outcome, with the job's ids, model and timings."""
    fields = context.log_fields(
        model=result.model,
        escalated=result.escalated,
        # Each model's doubt, so the escalation threshold can be recalibrated on real photos.
        doubts={attempt.model: attempt.doubt for attempt in result.attempts},
        brightness=round(result.brightness, 1),
        background=result.background,
        result_image_id=result_image_id,
        total_s=laps.total(),
        **laps.seconds,
        **{f"pipeline_{name}": round(value, 3) for name, value in result.timings.items()},
    )
    if result_image_id is None:
        log.warning("job finished elsewhere meanwhile; result not recorded", extra=fields)
        return context.outcome("finished")
    log.info("job completed", extra=fields)
    return context.outcome(
        "completed",
        model=result.model,
        escalated=result.escalated,
        background=result.background,
        result_image_id=result_image_id,
        total_s=fields["total_s"],
        service_s=fields["pipeline_s"],
    )
