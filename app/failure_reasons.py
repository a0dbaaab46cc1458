"""Why a job failed: the one vocabulary, from the pipeline through the worker to the API.

`image_processing_jobs.failure_reason` stores the value (the column stays a string, so a new
reason needs no migration); the API's response schema is typed with the enum, so OpenAPI lists
every value. A reason names the kind of failure only: details such as an exception's name or
message go to the log line beside it, never into the reason.
"""

from __future__ import annotations

import enum


class FailureReason(enum.StrEnum):
    # The source: the image row or its S3 object is not there (no retry).
    source_image_not_found = "source_image_not_found"
    source_object_missing = "source_object_missing"

    # The pipeline (worker/pipeline raises these in a PipelineError; no retry).
    empty_file = "empty_file"
    invalid_image = "invalid_image"
    image_too_large = "image_too_large"
    image_too_small = "image_too_small"
    # No model in the chain passed validate_image_quality: "quality_" + the last model's
    # verdict (area_too_small, aspect_mismatch, no_subject).
    quality_area_too_small = "quality_area_too_small"
    quality_aspect_mismatch = "quality_aspect_mismatch"
    quality_no_subject = "quality_no_subject"
    # The job asked for a model this worker did not load (MODEL_CHAIN differs from the API's).
    model_not_loaded = "model_not_loaded"

    # The task: past the soft time limit, or an exception nobody classified.
    timeout = "timeout"
    unexpected_error = "unexpected_error"
    # Storage or database trouble that outlasted the task's retries with backoff.
    storage_unavailable_retries_exhausted = "storage_unavailable_retries_exhausted"
    database_unavailable_retries_exhausted = "database_unavailable_retries_exhausted"

    # The beat sweep: claimed too often without finishing, or published too often in vain.
    worker_lost = "worker_lost"
    enqueue_attempts_exhausted = "enqueue_attempts_exhausted"

    # The API or the sweep could not publish the task; the job is `queue_failed`, not
    # failed, and the reason is cleared when a later publish succeeds.
    publish_failed = "publish_failed"
