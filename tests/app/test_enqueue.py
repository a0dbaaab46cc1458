"""The enqueue service against Postgres and SQS on moto_server."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from app.db import session_scope
from app.enqueue import publish_job, queue_image_processing
from app.job_lifecycle import queueing
from app.models import Book, BookImage, ImageProcessingJob, JobStatus
from app.settings import Settings
from tests import servers
from tests.app.helpers import decode_celery_message
from tests.app_stack import Infrastructure


def _image() -> tuple[int, int]:
    with session_scope() as session:
        book = Book(title="Dune")
        session.add(book)
        session.flush()
        image = BookImage(book_id=book.id, s3_key=f"{book.id}/a.jpg", display_order=1)
        session.add(image)
        session.flush()
        return book.id, image.id


def test_job_is_committed_pending_then_published(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    app_settings()
    book_id, image_id = _image()
    with session_scope() as session:
        job = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    with session_scope() as session:
        stored = session.get(ImageProcessingJob, job.id)
        assert stored is not None
        assert stored.status is JobStatus.pending
        assert stored.enqueue_attempts == 1
        assert stored.queued_at is not None
    [message] = infrastructure.receive_all()
    assert decode_celery_message(message["Body"]) == (
        "worker.tasks.process_image",
        [str(job.id), book_id, image_id],
        {},
    )


def test_second_request_returns_the_active_job(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    app_settings()
    book_id, image_id = _image()
    with session_scope() as session:
        first = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    with session_scope() as session:
        second = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    assert second.id == first.id
    assert len(infrastructure.receive_all()) == 1
    with session_scope() as session:
        session.get(ImageProcessingJob, first.id).status = JobStatus.completed
    with session_scope() as session:
        third = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    assert third.id != first.id  # a finished job does not block a new one


def test_losing_the_insert_race_returns_the_winner(
    app_settings: Callable[..., Settings],
    infrastructure: Infrastructure,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests both saw no active job; the database's unique index decides."""
    app_settings()
    book_id, image_id = _image()
    with session_scope() as session:
        winner = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    real_active_job = queueing.active_job
    calls = []

    def _stale_first_look(**kwargs: object) -> ImageProcessingJob | None:
        calls.append(kwargs)
        return None if len(calls) == 1 else real_active_job(**kwargs)

    monkeypatch.setattr(queueing, "active_job", _stale_first_look)
    with session_scope() as session:
        session.add(Book(title="added by the caller in the same transaction"))
        loser = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    assert loser.id == winner.id
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(ImageProcessingJob)) == 1
        assert session.scalar(select(func.count()).select_from(Book)) == 2  # caller's row kept
    assert len(infrastructure.receive_all()) == 1


def test_broker_failure_leaves_a_queue_failed_job_and_logs_the_traceback(
    app_settings: Callable[..., Settings],
    infrastructure: Infrastructure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app_settings(broker_url=f"sqs://127.0.0.1:{servers.free_port()}")
    book_id, image_id = _image()
    with caplog.at_level(logging.ERROR, logger="app.enqueue"), session_scope() as session:
        job = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    with session_scope() as session:
        stored = session.get(ImageProcessingJob, job.id)
        assert stored.status is JobStatus.queue_failed
        assert stored.enqueue_attempts == 1
        assert stored.queued_at is None
        # The reason names the kind of failure; what the broker said is in the log.
        assert stored.failure_reason == "publish_failed"
    [record] = [r for r in caplog.records if str(job.id) in r.getMessage()]
    assert record.exc_info is not None  # the traceback is logged
    assert record.exc_info[0].__name__ in record.getMessage()
    assert infrastructure.receive_all() == []


def test_publish_job_republishes_a_queue_failed_job(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    """What the beat sweep does: publish again, count the attempt, back to pending."""
    app_settings(broker_url=f"sqs://127.0.0.1:{servers.free_port()}")
    book_id, image_id = _image()
    with session_scope() as session:
        job = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
    app_settings()  # the broker is back
    with session_scope() as session:
        stored = session.get(ImageProcessingJob, job.id, with_for_update=True)
        assert publish_job(stored) is True
    with session_scope() as session:
        stored = session.get(ImageProcessingJob, job.id)
        assert stored.status is JobStatus.pending
        assert stored.enqueue_attempts == 2
        assert stored.queued_at is not None
        assert stored.failure_reason is None
    [message] = infrastructure.receive_all()
    assert decode_celery_message(message["Body"])[1] == [str(job.id), book_id, image_id]
