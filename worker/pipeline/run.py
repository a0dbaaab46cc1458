"""decode -> downscale -> model chain with validation -> brightness -> backdrop -> composite -> PNG.

Pure: bytes and preloaded models in, a result out. No file, network or database.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image, ImageChops

from app.settings import Settings
from worker.models.base import MaskModel
from worker.pipeline.compose import composite, encode_png
from worker.pipeline.decode import decode_image
from worker.pipeline.errors import PipelineError
from worker.pipeline.quality import (
    BackgroundColor,
    ModelAttempt,
    judge_mask,
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

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineConfig:
        return cls(
            max_image_dimension=settings.max_image_dimension,
            max_image_pixels=settings.max_image_pixels,
            min_area_ratio=settings.min_area_ratio,
            max_aspect_diff=settings.max_aspect_diff,
            brightness_threshold=settings.brightness_threshold,
        )


@dataclass(frozen=True)
class PipelineResult:
    png: bytes
    mask: Image.Image  # the winning model's 8-bit mask at the output's size
    model: str
    brightness: float
    background: BackgroundColor
    attempts: tuple[ModelAttempt, ...]
    size: tuple[int, int]
    source_size: tuple[int, int]
    source_format: str
    timings: dict[str, float] = field(default_factory=dict)


def process_image_bytes(
    data: bytes, *, models: Sequence[MaskModel], config: PipelineConfig
) -> PipelineResult:
    """Raises PipelineError with a named reason when the image cannot be processed."""
    started = time.perf_counter()
    decoded = decode_image(
        data, max_pixels=config.max_image_pixels, max_dimension=config.max_image_dimension
    )
    image = decoded.rgb
    decoded_at = time.perf_counter()

    model, mask, attempts = _first_passing_mask(image, decoded.alpha, models, config)
    inferred_at = time.perf_counter()

    brightness = subject_brightness(image, mask)
    background = select_background_color(brightness, threshold=config.brightness_threshold)
    result = composite(image, mask, background)
    composed_at = time.perf_counter()
    png = encode_png(result)
    finished = time.perf_counter()
    return PipelineResult(
        png=png,
        mask=mask,
        model=model.name,
        brightness=brightness,
        background=background,
        attempts=attempts,
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


def _first_passing_mask(
    image: Image.Image,
    alpha: Image.Image | None,
    models: Sequence[MaskModel],
    config: PipelineConfig,
) -> tuple[MaskModel, Image.Image, tuple[ModelAttempt, ...]]:
    """The chain in order: the first model whose mask passes validation, and every attempt;
    PipelineError named after the first model's verdict when none passes."""
    attempts: list[ModelAttempt] = []
    for model in models:
        model_started = time.perf_counter()
        mask = model.predict_mask(image)
        if alpha is not None:
            # Where the source was already transparent it is background, whatever the model says.
            mask = ImageChops.darker(mask, alpha)
        box, verdict = judge_mask(
            mask, min_area_ratio=config.min_area_ratio, max_aspect_diff=config.max_aspect_diff
        )
        attempts.append(
            ModelAttempt(
                model.name,
                verdict["passed"],
                verdict["reason"],
                box,
                time.perf_counter() - model_started,
            )
        )
        if verdict["passed"]:
            return model, mask, tuple(attempts)
    # Named after the first model's verdict: the chain's primary model.
    reason = attempts[0].reason if attempts else "no_subject"
    tried = ", ".join(f"{attempt.model}: {attempt.reason}" for attempt in attempts)
    raise PipelineError(
        f"quality_{reason}", f"no model passed validation ({tried})", tuple(attempts)
    )
