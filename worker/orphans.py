"""Objects under the images prefix that no `book_images` row names, and their removal.

Two ways an object outlives its purpose: a job fails for good after its run stored the result
PNG (the worker removes it at once, `discard_failed_result`), and a process dies between its
S3 write and its commit (a worker before recording the result, the API before committing an
upload's row; nothing knows the key). Beat's `sweep_orphaned_objects` finds the second kind,
and any first kind whose removal failed: a bounded page of the area per run, from where the
previous run stopped.

What makes a removal safe:
- a failed job's result: only `complete_job` adds a row naming it, and only while the job is
  `processing`; once `failed` (terminal) nothing can, so a failed job whose key no row names
  now never will have one;
- an orphan: it is older than ORPHAN_OBJECT_MIN_AGE_SECONDS, far longer than any write takes to
  commit its row (seconds), and no row named it when the database was asked.
No transaction is open while S3 is called, and only the images area is ever listed or deleted
from: `listings/` is another area (another prefix) of the same bucket.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import session_scope
from app.models import BookImage, ImageProcessingJob, JobStatus, utc_now
from app.settings import Settings
from app.storage import Storage

log = logging.getLogger(__name__)

# Keys per `SELECT s3_key ... WHERE s3_key IN (...)`: a bounded statement, and at
# ORPHAN_SWEEP_MAX_KEYS = 10000 no more than ten of them a run.
LOOKUP_BATCH_SIZE = 1000


def referenced_keys(session: Session, keys: Collection[str]) -> set[str]:
    """Those of `keys` that an image row names, one query per LOOKUP_BATCH_SIZE keys."""
    found: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), LOOKUP_BATCH_SIZE):
        batch = ordered[start : start + LOOKUP_BATCH_SIZE]
        found.update(
            session.scalars(select(BookImage.s3_key).where(BookImage.s3_key.in_(batch))).all()
        )
    return found


# --- the worker: a failed job's result ---------------------------------------------------------


def discard_failed_result(
    *, storage: Storage, job_id: uuid.UUID, key: str, log_fields: dict[str, Any]
) -> bool:
    """Delete the job's result object if the job has failed and no row names the key; True
    when it did. Best effort: whatever goes wrong is logged, never raised (the failure is
    recorded already, and the sweep removes what is left once it is old enough).

    Called after each failure a worker records, whether or not this run stored the PNG: an
    earlier run of the job may have. Deleting a key that is not there costs one request.
    """
    try:
        with session_scope() as session:
            job = session.get(ImageProcessingJob, job_id)
            unwanted = (
                job is not None
                and job.status == JobStatus.failed
                and not _named_in_book(session, book_id=job.book_id, key=key)
            )
        if unwanted:
            storage.delete(key)
    except Exception as error:  # the outcome is recorded; the orphan sweep is the fallback
        log.warning(
            "could not discard the failed job's result %s: %s: %s",
            key,
            type(error).__name__,
            error,
            extra=log_fields,
        )
        return False
    if unwanted:
        log.info("discarded the failed job's result %s", key, extra=log_fields)
    return unwanted


def _named_in_book(session: Session, *, book_id: int, key: str) -> bool:
    """Does an image row of the book name `key`? A result's row is always in its job's book,
    and the book's index keeps this from scanning every image row."""
    statement = select(BookImage.id).where(BookImage.book_id == book_id, BookImage.s3_key == key)
    return session.scalars(statement.limit(1)).first() is not None


# --- beat: the bounded sweep -----------------------------------------------------------------


@dataclass
class OrphanCursor:
    """Where the next run starts: after this key ("" from the first). Kept in beat's process
    only: a restart begins the bucket again, which costs a pass and nothing else."""

    after: str = ""


@dataclass(frozen=True)
class OrphanReport:
    examined: int
    deleted: int
    kept: int  # younger than the minimum age, or named by a row
    failed: int  # orphans S3 would not delete: tried again on the next pass
    next_after: str

    def as_dict(self) -> dict[str, object]:
        return {
            "examined": self.examined,
            "deleted": self.deleted,
            "kept": self.kept,
            "failed": self.failed,
        }


def sweep_orphaned_objects(
    *, settings: Settings, storage: Storage, cursor: OrphanCursor
) -> OrphanReport:
    """One run: list at most ORPHAN_SWEEP_MAX_KEYS objects after the cursor, delete those older
    than ORPHAN_OBJECT_MIN_AGE_SECONDS that no row names, and move the cursor on (to the start
    once the listing reached the end). A storage or database error raises with the cursor where
    it was, so the next run does this page again."""
    listed = storage.list_objects(start_after=cursor.after, max_keys=settings.orphan_sweep_max_keys)
    cutoff = utc_now() - timedelta(seconds=settings.orphan_object_min_age_seconds)
    old = [item.key for item in listed if item.last_modified <= cutoff]
    orphans = _unreferenced(old)
    failed = storage.delete_many(orphans) if orphans else []
    deleted = len(orphans) - len(failed)
    ended = len(listed) < settings.orphan_sweep_max_keys
    report = OrphanReport(
        examined=len(listed),
        deleted=deleted,
        kept=len(listed) - len(orphans),
        failed=len(failed),
        next_after="" if ended else listed[-1].key,
    )
    cursor.after = report.next_after
    log.info(
        "orphan sweep done%s",
        ": reached the end, the next run starts again" if ended else "",
        extra=report.as_dict() | {"next_after": report.next_after},
    )
    return report


def _unreferenced(keys: Sequence[str]) -> list[str]:
    """The keys no row names, asked in one short transaction, closed before S3 is called."""
    if not keys:
        return []
    with session_scope() as session:
        if session.scalars(select(BookImage.id).limit(1)).first() is None:
            # A database without a single image row next to a bucket with objects is the wrong
            # database (or an empty restore), not a bucket of orphans: delete nothing.
            log.warning("orphan sweep: no image row at all; deleting nothing from the bucket")
            return []
        named = referenced_keys(session, keys)
    return [key for key in keys if key not in named]
