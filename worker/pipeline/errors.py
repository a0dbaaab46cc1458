"""The one error the pipeline raises: a named, permanent reason the image cannot be processed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from worker.pipeline.quality import ModelAttempt

# Every reason the pipeline can give; the job's failure_reason is one of these.
REASONS = frozenset(
    {
        "empty_file",
        "invalid_image",
        "image_too_large",
        "image_too_small",
        "quality_area_too_small",
        "quality_aspect_mismatch",
        "quality_no_subject",
    }
)


@dataclass
class PipelineError(Exception):
    reason: str
    detail: str
    attempts: tuple[ModelAttempt, ...] = field(default=())

    def __post_init__(self) -> None:
        assert self.reason in REASONS, self.reason
        super().__init__(f"{self.reason}: {self.detail}")

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"
