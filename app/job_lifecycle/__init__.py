"""Every state change of an image-processing job, and nowhere else (as the FastAPI template's
crud.py holds every row write).

    create_job             (none) -> pending
    record_published       pending | queue_failed -> pending, queued_at set
    record_publish_failed  pending | queue_failed -> queue_failed (publish_failed)
    allow_republish        queue_failed -> failed (enqueue_attempts_exhausted) past the budget
    reserve_for_publish    queue_failed | pending -> pending, before the sweep publishes it
    record_publish_outcomes  what the sweep's publishing did: queued, or queue_failed again
    claim_job              pending | queue_failed | stale processing -> processing
    release_job            processing -> pending, before the task retries
    recover_job            processing, its worker dead -> pending, or failed (worker_lost)
    complete_job           processing -> completed, with its result image
    fail_job               any active state -> failed, with a FailureReason

Two modules: `queueing` (a job's way onto the queue) and `processing` (a worker's hold on it).
The API creates and publishes (app/enqueue.py), the worker claims, releases, completes and
fails (worker/job_runner.py), the beat sweep republishes and recovers (worker/sweeps.py); all
of them through these functions. Each takes its dependencies by keyword, changes the row and
leaves committing to the caller, so a transition and what goes with it (the result image, the
published message) share one transaction.
"""

from app.job_lifecycle.processing import (
    Claim,
    ClaimOutcome,
    claim_job,
    complete_job,
    fail_job,
    recover_job,
    release_job,
)
from app.job_lifecycle.queueing import (
    active_job,
    allow_republish,
    create_job,
    record_publish_failed,
    record_publish_outcomes,
    record_published,
    reserve_for_publish,
)

__all__ = [
    "Claim",
    "ClaimOutcome",
    "active_job",
    "allow_republish",
    "claim_job",
    "complete_job",
    "create_job",
    "fail_job",
    "record_publish_failed",
    "record_publish_outcomes",
    "record_published",
    "recover_job",
    "release_job",
    "reserve_for_publish",
]
