"""The job's transitions and the display_order rule, against Postgres (and SQLite, the
embedded mode's database, for the statements written per dialect).

The worker and the sweep tests drive these through Celery; here each transition is called
the way its callers call it, and the book lock is raced by threads.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import sessionmaker

from app.db import session_scope
from app.failure_reasons import FailureReason
from app.image_order import add_image
from app.job_lifecycle import (
    ClaimOutcome,
    claim_job,
    complete_job,
    create_job,
    fail_job,
    record_publish_failed,
    record_published,
    release_job,
)
from app.migrate import upgrade
from app.models import Book, BookImage, ImageProcessingJob, JobStatus
from app.settings import Settings

STALE_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 3


@pytest.fixture(autouse=True)
def _database(app_settings: Callable[..., Settings]) -> None:
    app_settings()


def _book() -> int:
    with session_scope() as session:
        book = Book(title="Dune")
        session.add(book)
        session.flush()
        return book.id


def _upload(book_id: int, name: str) -> int:
    with session_scope() as session:
        image = add_image(
            session=session, book_id=book_id, s3_key=f"{book_id}/{name}", is_primary=False
        )
        return image.id


def _claimed_job(book_id: int, image_id: int) -> uuid.UUID:
    """A job for the image, created and claimed as the API and a worker would."""
    with session_scope() as session:
        job, created = create_job(session=session, book_id=book_id, image_id=image_id)
        assert created
    with session_scope() as session:
        claim = claim_job(
            session=session, job_id=job.id, stale_after=STALE_AFTER, max_attempts=MAX_ATTEMPTS
        )
        assert claim.outcome is ClaimOutcome.CLAIMED
    return job.id


def _complete(job_id: uuid.UUID) -> int | None:
    with session_scope() as session:
        return complete_job(
            session=session,
            job_id=job_id,
            result_key=f"processed_{job_id}.png",
            model="null",
            escalated=True,
            brightness=120.0,
            background="white",
        )


def _orders(book_id: int) -> list[int]:
    with session_scope() as session:
        statement = select(BookImage.display_order).where(BookImage.book_id == book_id)
        return sorted(session.scalars(statement))


def _job(job_id: uuid.UUID) -> ImageProcessingJob:
    with session_scope() as session:
        job = session.get(ImageProcessingJob, job_id)
        assert job is not None
        return job


def test_results_and_uploads_take_the_next_order_in_turn() -> None:
    book_id = _book()
    first, second = _upload(book_id, "a.jpg"), _upload(book_id, "b.jpg")
    first_job = _claimed_job(book_id, first)
    _complete(first_job)
    done = _job(first_job)
    assert (done.status, done.model_used, done.escalated) == (JobStatus.completed, "null", True)
    _upload(book_id, "c.jpg")
    result_id = _complete(_claimed_job(book_id, second))
    assert _orders(book_id) == [1, 2, 3, 4, 5]
    with session_scope() as session:
        result = session.get(BookImage, result_id)
        assert (result.display_order, result.source_image_id, result.is_primary) == (
            5,
            second,
            False,
        )


def test_after_a_deletion_no_order_is_handed_out_twice() -> None:
    """count + 1 would give the next image 3, the order the first result still holds."""
    book_id = _book()
    first, second = _upload(book_id, "a.jpg"), _upload(book_id, "b.jpg")
    _complete(_claimed_job(book_id, first))  # order 3
    with session_scope() as session:
        session.execute(delete(BookImage).where(BookImage.id == second))  # order 2 is gone
    _complete(_claimed_job(book_id, first))  # the same original processed again
    _upload(book_id, "c.jpg")
    assert _orders(book_id) == [1, 3, 4, 5]


def test_concurrent_results_and_uploads_of_one_book_never_share_an_order() -> None:
    """Two workers completing and an upload arriving at the same moment: the book lock
    makes them take their orders one after another."""
    book_id = _book()
    originals = [_upload(book_id, f"{index}.jpg") for index in range(4)]
    jobs = [_claimed_job(book_id, image_id) for image_id in originals]
    start = threading.Barrier(len(jobs) + 2)
    errors: list[BaseException] = []

    def _at_once(action: Callable[[], object]) -> Callable[[], None]:
        def _run() -> None:
            try:
                start.wait(timeout=30)
                action()
            except BaseException as error:  # reported by the test thread
                errors.append(error)

        return _run

    actions = [lambda job_id=job_id: _complete(job_id) for job_id in jobs]
    actions += [lambda name=name: _upload(book_id, name) for name in ("x.jpg", "y.jpg")]
    threads = [threading.Thread(target=_at_once(action)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert _orders(book_id) == list(range(1, len(originals) + len(actions) + 1))


def test_release_hands_the_claim_back_without_counting_it() -> None:
    book_id = _book()
    job_id = _claimed_job(book_id, _upload(book_id, "a.jpg"))
    with session_scope() as session:
        release_job(session=session, job_id=job_id)
    assert (_job(job_id).status, _job(job_id).attempt_count) == (JobStatus.pending, 0)
    with session_scope() as session:
        claim = claim_job(
            session=session, job_id=job_id, stale_after=STALE_AFTER, max_attempts=MAX_ATTEMPTS
        )
    assert (claim.outcome, _job(job_id).attempt_count) == (ClaimOutcome.CLAIMED, 1)


def test_a_job_fails_once_and_a_finished_job_keeps_its_outcome() -> None:
    book_id = _book()
    job_id = _claimed_job(book_id, _upload(book_id, "a.jpg"))
    with session_scope() as session:
        assert fail_job(session=session, job_id=job_id, reason=FailureReason.invalid_image)
    with session_scope() as session:
        assert not fail_job(session=session, job_id=job_id, reason=FailureReason.timeout)
    failed = _job(job_id)
    assert (failed.status, failed.failure_reason) == (JobStatus.failed, "invalid_image")
    assert failed.completed_at is not None
    assert _complete(job_id) is None  # a late result is not recorded either


def test_a_claim_past_the_attempt_budget_fails_the_job_as_worker_lost() -> None:
    """Claimed MAX_ATTEMPTS times and never finished: the job is what kills its workers."""
    book_id = _book()
    image_id = _upload(book_id, "a.jpg")
    with session_scope() as session:
        job, _ = create_job(session=session, book_id=book_id, image_id=image_id)
        job.attempt_count = MAX_ATTEMPTS
    with session_scope() as session:
        claim = claim_job(
            session=session, job_id=job.id, stale_after=STALE_AFTER, max_attempts=MAX_ATTEMPTS
        )
    assert claim.outcome is ClaimOutcome.EXHAUSTED
    assert (_job(job.id).status, _job(job.id).failure_reason) == (JobStatus.failed, "worker_lost")


def test_create_and_publish_on_sqlite_the_embedded_database(tmp_path: Path) -> None:
    """The INSERT ... ON CONFLICT and the prebuilt UPDATEs are written per dialect: SQLite's
    too (the embedded mode), with the same outcomes as on Postgres."""
    engine = create_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
    with engine.begin() as connection:
        upgrade(connection=connection)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as session:
        book = Book(title="Dune")
        session.add(book)
        session.flush()
        image = BookImage(book_id=book.id, s3_key=f"{book.id}/a.jpg", display_order=1)
        session.add(image)
        session.commit()
        first, created = create_job(session=session, book_id=book.id, image_id=image.id)
        assert created
        record_publish_failed(job=first)
        session.commit()
        record_published(job=first)  # queue_failed -> pending again
        session.commit()
    with sessions() as session:
        again, created = create_job(session=session, book_id=book.id, image_id=image.id)
        assert (created, again.id) == (False, first.id)
        assert again.status is JobStatus.pending
        assert (again.enqueue_attempts, again.failure_reason) == (2, None)
        assert again.queued_at is not None
        again.status = JobStatus.completed
        session.commit()
        third, created = create_job(session=session, book_id=book.id, image_id=image.id)
        assert created
        assert third.id != first.id
    engine.dispose()
