"""Scoring masks against the synthetic set's exact ground truth: each model, and the cascade.

Each model runs once per photo. The cascade is replayed from those measurements through the
worker's own decision (`worker.pipeline.cascade.settle`, which tests/worker/pipeline checks
against `run_cascade`), so one run of the models gives the cascade at any threshold: what
`make eval` uses to calibrate CASCADE_MAX_DOUBT. Shared by `make eval` and `make bench`.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from app.settings import Settings
from devtools.synthetic_photos import Case
from worker.models.base import MaskModel
from worker.pipeline import PipelineConfig
from worker.pipeline.cascade import CascadeConfig, accepts, settle
from worker.pipeline.decode import decode_image
from worker.pipeline.doubt import mask_doubt, shadow_share
from worker.pipeline.quality import (
    OPAQUE,
    ModelAttempt,
    judge_mask,
    select_background_color,
    subject_brightness,
)

CASCADE = "cascade"


@dataclass(frozen=True)
class Measurement:
    case: str
    category: str
    expect_valid: bool
    expected_reason: str | None
    expected_background: str | None
    model: str  # the model measured; for the cascade, the model it kept
    iou: float
    doubt: float
    shadow: float
    area_ratio: float
    aspect_diff: float
    verdict_reason: str | None
    brightness: float
    background: str
    escalated: bool = False  # the cascade only: it went past the chain's first model


def score_case(
    models: Sequence[MaskModel], case: Case, settings: Settings
) -> dict[str, Measurement]:
    """Each model's measurement of one photo, by model name."""
    decoded = decode_image(
        case.image_path.read_bytes(),
        max_pixels=settings.max_image_pixels,
        max_dimension=settings.max_image_dimension,
    )
    image = decoded.rgb
    truth = np.asarray(
        Image.open(case.mask_path).convert("L").resize(image.size, Image.Resampling.NEAREST)
    )
    return {
        model.name: _measure(model.name, model.predict_mask(image), image, truth, case, settings)
        for model in models
    }


def cascade_config(settings: Settings, **thresholds: float) -> CascadeConfig:
    """The worker's cascade settings, with `max_doubt` or `max_shadow` replaced if given."""
    return replace(PipelineConfig.from_settings(settings).cascade, **thresholds)


def cascade_at(
    scores: dict[str, Measurement], chain: Sequence[str], config: CascadeConfig
) -> Measurement:
    """The cascade's measurement of one photo under `config`: the measurement of the model
    the worker's `settle` keeps (the last model's when none passes: the job fails)."""
    rows = [scores[name] for name in chain]
    attempts = [
        ModelAttempt(
            row.model,
            row.verdict_reason is None,
            None,
            None,
            0.0,
            round(row.doubt, 4),
            round(row.shadow, 4),
        )
        for row in rows
    ]
    kept = settle(attempts, config)
    winner = rows[-1] if kept is None else rows[kept]
    stopped_at_first = accepts(attempts[0], last=len(rows) == 1, config=config)
    return replace(winner, escalated=not stopped_at_first)


def _measure(
    name: str,
    mask: Image.Image,
    image: Image.Image,
    truth: np.ndarray,
    case: Case,
    settings: Settings,
) -> Measurement:
    ours, theirs = np.asarray(mask) >= OPAQUE, truth >= OPAQUE
    union = (ours | theirs).sum()
    box, verdict = judge_mask(
        mask, min_area_ratio=settings.min_area_ratio, max_aspect_diff=settings.max_aspect_diff
    )
    width, height = (box[2] - box[0], box[3] - box[1]) if box else (0, 0)
    brightness = subject_brightness(image, mask)
    return Measurement(
        case=case.id,
        category=case.category,
        expect_valid=case.expect_valid,
        expected_reason=case.expected_reason,
        expected_background=case.expected_background,
        model=name,
        iou=float((ours & theirs).sum() / union) if union else 1.0,
        doubt=mask_doubt(mask),
        shadow=shadow_share(image, mask),
        area_ratio=width * height / (image.width * image.height),
        aspect_diff=(
            abs(math.log((width / height) / (image.width / image.height))) if box else math.inf
        ),
        verdict_reason=verdict["reason"],
        brightness=brightness,
        background=select_background_color(brightness, threshold=settings.brightness_threshold),
    )


def mean_iou(rows: Sequence[Measurement]) -> float:
    """Over the photos with a book (a negative has no mask to match)."""
    return statistics.mean(row.iou for row in rows if row.expect_valid)


def by_category(rows: Sequence[Measurement]) -> dict[str, list[Measurement]]:
    """The photos with a book, by category."""
    groups: dict[str, list[Measurement]] = defaultdict(list)
    for row in rows:
        if row.expect_valid:
            groups[row.category].append(row)
    return dict(groups)


def escalation_rate(rows: Sequence[Measurement]) -> float:
    return sum(row.escalated for row in rows) / len(rows) if rows else 0.0
