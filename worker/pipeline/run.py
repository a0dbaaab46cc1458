"""decode -> downscale -> model cascade -> brightness -> backdrop -> composite -> PNG.

Pure: bytes and preloaded models in, a result out. No file, network or database.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image

from app.settings import Settings
from worker.models.base import MaskModel
from worker.pipeline.cascade import CascadeConfig, run_cascade
from worker.pipeline.compose import composite, encode_png
from worker.pipeline.decode import decode_image
from worker.pipeline.quality import (
    BackgroundColor,
    ModelAttempt,
    select_background_color,
    subject_brightness,
)


@dataclass(frozen=True)
class PipelineConfig:
    max_image_dimension: int
    max_image_pixels: int
    min_area_ratio: float
    max_aspect_diff: float
    brightness_threshold: float
    # The cascade's escalation thresholds (worker/pipeline/cascade.py).
    max_doubt: float
    max_shadow: float

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineConfig:
        return cls(
            max_image_dimension=settings.max_image_dimension,
            max_image_pixels=settings.max_image_pixels,
            min_area_ratio=settings.min_area_ratio,
            max_aspect_diff=settings.max_aspect_diff,
            brightness_threshold=settings.brightness_threshold,
            max_doubt=settings.cascade_max_doubt,
            max_shadow=settings.cascade_max_shadow,
        )

    @property
    def cascade(self) -> CascadeConfig:
        return CascadeConfig(
            min_area_ratio=self.min_area_ratio,
            max_aspect_diff=self.max_aspect_diff,
            max_doubt=self.max_doubt,
            max_shadow=self.max_shadow,
        )


@dataclass(frozen=True)
class PipelineResult:
    png: bytes
    mask: Image.Image  # the winning model's 8-bit mask at the output's size
    model: str
    escalated: bool  # the cascade went past its first model
    brightness: float
    background: BackgroundColor
    attempts: tuple[ModelAttempt, ...]
    size: tuple[int, int]
    source_size: tuple[int, int]
    source_format: str
    timings: dict[str, float] = field(default_factory=dict)


def process_image_bytes(
    data: bytes,
    *,
    models: Sequence[MaskModel],
    config: PipelineConfig,
    backdrop: BackgroundColor | None = None,
) -> PipelineResult:
    """Raises PipelineError with a named reason when the image cannot be processed.

    `backdrop` sets the result on that colour whatever the subject's brightness (an operator's
    choice); None chooses by brightness. The brightness is measured and reported either way.
    """
    started = time.perf_counter()
    decoded = decode_image(
        data, max_pixels=config.max_image_pixels, max_dimension=config.max_image_dimension
    )
    image = decoded.rgb
    decoded_at = time.perf_counter()

    chosen = run_cascade(image, decoded.alpha, models, config.cascade)
    mask = chosen.mask
    inferred_at = time.perf_counter()

    brightness = subject_brightness(image, mask)
    background = backdrop or select_background_color(
        brightness, threshold=config.brightness_threshold
    )
    result = composite(image, mask, background)
    composed_at = time.perf_counter()
    png = encode_png(result)
    finished = time.perf_counter()
    return PipelineResult(
        png=png,
        mask=mask,
        model=chosen.model.name,
        escalated=chosen.escalated,
        brightness=brightness,
        background=background,
        attempts=chosen.attempts,
        size=image.size,
        source_size=decoded.source_size,
        source_format=decoded.source_format,
        timings={
            "decode_s": decoded_at - started,
            "models_s": inferred_at - decoded_at,
            "compose_s": composed_at - inferred_at,
            "encode_s": finished - composed_at,
            "total_s": finished - started,
        },
    )
