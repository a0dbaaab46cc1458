"""The one error the pipeline raises: a named, permanent reason the image cannot be processed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.failure_reasons import FailureReason

if TYPE_CHECKING:
    from worker.pipeline.quality import ModelAttempt


class PipelineError(Exception):
    """`reason` is the job's failure reason as it will be stored; `detail` is for the log.

    Takes a FailureReason or its value, and refuses a name the vocabulary does not know
    (ValueError), so a misspelt reason fails where it is raised, not in the API's schema.
    """

    def __init__(
        self,
        reason: FailureReason | str,
        detail: str,
        attempts: tuple[ModelAttempt, ...] = (),
    ) -> None:
        self.reason = FailureReason(reason)
        self.detail = detail
        self.attempts = attempts
        super().__init__(f"{self.reason}: {detail}")
