"""process_image run in-process (Celery's eager `apply`) against Postgres and S3 on moto_server.

The null mask model stands in for u2net: these tests are about the task's
plumbing (claim, fetch, record), not about masks. Retries meet real faults, in real worker
processes, in tests/faults/.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.failure_reasons import FailureReason
from app.models import JobStatus
from app.settings import Settings
from app.storage import get_storage
from tests.app_stack import Infrastructure
from tests.corpus import bad_inputs
from tests.worker.integration import records
from worker import job_runner, tasks
from worker.job_runner import JobContext
from worker.models import runtime
from worker.models.null_model import BackdropDistanceMaskModel
from worker.pipeline import PipelineConfig, process_image_bytes

PHOTO = next(case for case in bad_inputs() if case.name == "plain_jpeg").data


@pytest.fixture
def settings(app_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app's settings, and the null model installed as a pool process would load models."""
    monkeypatch.setattr(runtime, "_models", None)  # restored after the test
    runtime.use_models([BackdropDistanceMaskModel()])
    return app_settings()


def _pending_job(infrastructure: Infrastructure, data: bytes | None) -> records.JobRow:
    """A pending job whose source object holds `data` (no object at all when None)."""
    job_id = records.add_job(status=JobStatus.pending)
    row = records.job(job_id)
    if data is not None:
        records.put_object(infrastructure, f"books/{row.book_id}/photo.jpg", data)
    return row


def _run(row: records.JobRow, *, image_id: int | None = None) -> object:
    result = tasks.process_image.apply(
        args=[str(row.id), row.book_id, image_id or row.source_image_id]
    )
    return result.get(propagate=False)


def test_completes_the_job_with_one_result(
    settings: Settings, infrastructure: Infrastructure
) -> None:
    row = _pending_job(infrastructure, PHOTO)
    outcome = _run(row)
    expected = process_image_bytes(
        PHOTO, models=[BackdropDistanceMaskModel()], config=PipelineConfig.from_settings(settings)
    )
    done = records.job(row.id)
    assert outcome == {
        "job_id": str(row.id),
        "status": "completed",
        "model": "null",
        "escalated": False,
        "background": expected.background,
        "result_image_id": done.result_image_id,
        "total_s": pytest.approx(outcome["total_s"]),  # type: ignore[index]
        "service_s": pytest.approx(outcome["service_s"]),  # type: ignore[index]
    }
    assert (done.status, done.attempt_count, done.model_used, done.escalated) == (
        JobStatus.completed,
        1,
        "null",
        False,
    )
    assert (done.subject_brightness, done.background_color) == (
        expected.brightness,
        expected.background,
    )
    [original, result] = records.images(row.book_id)
    assert (result.id, result.display_order, result.source_image_id) == (
        done.result_image_id,
        2,
        original.id,
    )
    key = f"{row.book_id}_processed_{row.id}.png"
    assert result.s3_key == key
    assert records.get_object(infrastructure, f"books/{key}") == (expected.png, "image/png")


def test_a_completed_job_gets_no_second_result(
    settings: Settings, infrastructure: Infrastructure
) -> None:
    row = _pending_job(infrastructure, PHOTO)
    _run(row)
    first = records.job(row.id)
    assert _run(row) == {"job_id": str(row.id), "status": "finished"}
    assert records.job(row.id) == first
    assert len(records.images(row.book_id)) == 2
    assert records.object_keys(infrastructure, f"books/{row.book_id}_processed_") == [
        f"books/{row.book_id}_processed_{row.id}.png"
    ]


@pytest.mark.parametrize(
    ("data", "missing_row", "reason"),
    [
        pytest.param(PHOTO, True, "source_image_not_found", id="source-row-missing"),
        pytest.param(None, False, "source_object_missing", id="source-object-missing"),
        pytest.param(
            b"\xff\xd8\xff\xe0 not really a jpeg", False, "invalid_image", id="undecodable"
        ),
    ],
)
def test_permanent_problems_fail_the_job_once_with_a_reason(
    settings: Settings,
    infrastructure: Infrastructure,
    data: bytes | None,
    missing_row: bool,
    reason: str,
) -> None:
    row = _pending_job(infrastructure, data)
    image_id = row.source_image_id + 1000 if missing_row else None
    assert _run(row, image_id=image_id) == {
        "job_id": str(row.id),
        "status": "failed",
        "reason": reason,
    }
    failed = records.job(row.id)
    assert (failed.status, failed.failure_reason, failed.attempt_count) == (
        JobStatus.failed,
        reason,
        1,
    )
    assert failed.result_image_id is None
    assert len(records.images(row.book_id)) == 1


# --- a job that fails for good leaves no result object (worker/orphans.py) -------------------


def _result_keys(infrastructure: Infrastructure, row: records.JobRow) -> list[str]:
    return records.object_keys(infrastructure, f"books/{row.book_id}_processed_")


@pytest.mark.parametrize(
    ("attempt_count", "outcome"),
    [
        pytest.param(1, {"status": "failed", "reason": "source_object_missing"}, id="failed"),
        pytest.param(3, {"status": "exhausted"}, id="claimed-too-often"),
    ],
)
def test_a_job_that_fails_for_good_deletes_the_result_an_earlier_run_stored(
    settings: Settings, infrastructure: Infrastructure, attempt_count: int, outcome: dict[str, str]
) -> None:
    """An earlier run stored the PNG and died, or met an outage, before recording it; the run
    that fails the job (its photo gone since, or the job claimed MAX_PROCESSING_ATTEMPTS times)
    deletes it."""
    job_id = records.add_job(status=JobStatus.pending, attempt_count=attempt_count)
    row = records.job(job_id)
    records.put_object(infrastructure, f"books/{row.book_id}_processed_{row.id}.png", b"png")

    assert _run(row) == {"job_id": str(row.id)} | outcome
    assert records.job(row.id).status is JobStatus.failed
    assert _result_keys(infrastructure, row) == []


def test_a_failure_after_the_result_was_recorded_keeps_the_result(
    settings: Settings, infrastructure: Infrastructure
) -> None:
    """The task's last word (a soft time limit, an unexpected error) can come after the result's
    commit: the job stays completed, and its result with it."""
    row = _pending_job(infrastructure, PHOTO)
    _run(row)
    context = JobContext(row.id, row.book_id, row.source_image_id)
    for reason in (FailureReason.timeout, FailureReason.database_unavailable_retries_exhausted):
        job_runner.fail_best_effort(context, reason, storage=get_storage())

    assert records.job(row.id).status is JobStatus.completed
    assert _result_keys(infrastructure, row) == [f"books/{row.book_id}_processed_{row.id}.png"]


@pytest.mark.parametrize(
    ("status", "kept"),
    [(JobStatus.failed, False), (JobStatus.completed, True)],
    ids=["failed-elsewhere", "completed-elsewhere"],
)
def test_a_result_stored_after_its_job_finished_elsewhere(
    settings: Settings, infrastructure: Infrastructure, status: JobStatus, kept: bool
) -> None:
    """A run whose job was finished by another meanwhile stores its PNG, finds the job no longer
    its own, and records nothing: the PNG goes if the job failed, and stays if it completed
    (the other run wrote the same key, and its row names it)."""
    row = records.job(records.add_job(status=status))
    context = JobContext(row.id, row.book_id, row.source_image_id)
    result = process_image_bytes(
        PHOTO, models=[BackdropDistanceMaskModel()], config=PipelineConfig.from_settings(settings)
    )

    assert job_runner.store(context, storage=get_storage(), result=result) is None
    assert len(_result_keys(infrastructure, row)) == int(kept)
