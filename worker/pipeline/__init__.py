"""The pure image pipeline: bytes and preloaded models in, a result out, no I/O."""

from worker.pipeline.errors import PipelineError
from worker.pipeline.quality import (
    ModelAttempt,
    select_background_color,
    validate_image_quality,
)
from worker.pipeline.run import PipelineConfig, PipelineResult, process_image_bytes

__all__ = [
    "ModelAttempt",
    "PipelineConfig",
    "PipelineError",
    "PipelineResult",
    "process_image_bytes",
    "select_background_color",
    "validate_image_quality",
]
