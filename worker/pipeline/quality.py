"""The seed's two rules, kept by name: is this mask a plausible book, which backdrop suits it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypedDict

import numpy as np
from PIL import Image

from app.processing_overrides import Backdrop
from app.settings import Settings

# One vocabulary of backdrops, the operator's overrides included (app/processing_overrides.py).
BackgroundColor = Backdrop
# The verdict's reasons, as the seed's validate_image_quality names them. When no model
# passes, the job fails with `quality_<reason>`, a member of app/failure_reasons.py's
# FailureReason (PipelineError refuses any other name; tests/worker/pipeline checks all three).
QualityReason = Literal["area_too_small", "aspect_mismatch", "no_subject"]

# A pixel belongs to the subject when its mask value is at least this (alpha 127 is the cut).
OPAQUE = 128

_DEFAULTS = Settings.model_fields
DEFAULT_MIN_AREA_RATIO: float = _DEFAULTS["min_area_ratio"].default
DEFAULT_MAX_ASPECT_DIFF: float = _DEFAULTS["max_aspect_diff"].default
DEFAULT_BRIGHTNESS_THRESHOLD: float = _DEFAULTS["brightness_threshold"].default


class QualityVerdict(TypedDict):
    passed: bool
    reason: QualityReason | None


@dataclass(frozen=True)
class ModelAttempt:
    """One model's try on one image: its verdict and what it cost."""

    model: str
    passed: bool
    reason: QualityReason | None
    subject_box: tuple[int, int, int, int] | None
    seconds: float
    # worker/pipeline/doubt.py's signs that the mask may be wrong, for the cascade.
    doubt: float = 0.0
    shadow: float = 0.0


def validate_image_quality(
    width: int,
    height: int,
    subject_width: int,
    subject_height: int,
    *,
    min_area_ratio: float = DEFAULT_MIN_AREA_RATIO,
    max_aspect_diff: float = DEFAULT_MAX_ASPECT_DIFF,
) -> QualityVerdict:
    """Does the subject's bounding box look like a photographed book?

    `area_too_small`: the box covers less than `min_area_ratio` of the frame.
    `aspect_mismatch`: the box's shape is too far from the frame's, measured as
    |ln(subject aspect / frame aspect)| so portrait and landscape count alike.
    """
    if subject_width <= 0 or subject_height <= 0:
        return {"passed": False, "reason": "no_subject"}
    if (subject_width * subject_height) / (width * height) < min_area_ratio:
        return {"passed": False, "reason": "area_too_small"}
    aspect_diff = abs(math.log((subject_width / subject_height) / (width / height)))
    if aspect_diff > max_aspect_diff:
        return {"passed": False, "reason": "aspect_mismatch"}
    return {"passed": True, "reason": None}


def judge_mask(
    mask: Image.Image, *, min_area_ratio: float, max_aspect_diff: float
) -> tuple[tuple[int, int, int, int] | None, QualityVerdict]:
    """The mask's subject box and validate_image_quality's verdict on it."""
    box = subject_box(mask)
    width, height = (box[2] - box[0], box[3] - box[1]) if box else (0, 0)
    verdict = validate_image_quality(
        mask.width,
        mask.height,
        width,
        height,
        min_area_ratio=min_area_ratio,
        max_aspect_diff=max_aspect_diff,
    )
    return box, verdict


def select_background_color(
    brightness: float, *, threshold: float = DEFAULT_BRIGHTNESS_THRESHOLD
) -> BackgroundColor:
    """Black below the threshold, white at or above it (59 -> black, 100 -> black, 200 -> white)."""
    return "black" if brightness < threshold else "white"


def subject_box(mask: Image.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the opaque pixels, ignoring stray specks; None if none.

    A row or column counts only if at least 0.2% of it is opaque, so a few
    isolated false-positive pixels in a corner do not stretch the box.
    """
    opaque = np.asarray(mask) >= OPAQUE
    rows = opaque.sum(axis=1)
    columns = opaque.sum(axis=0)
    row_hits = np.flatnonzero(rows > max(1, opaque.shape[1] // 500))
    column_hits = np.flatnonzero(columns > max(1, opaque.shape[0] // 500))
    if row_hits.size == 0 or column_hits.size == 0:
        return None
    return int(column_hits[0]), int(row_hits[0]), int(column_hits[-1]) + 1, int(row_hits[-1]) + 1


def subject_brightness(image: Image.Image, mask: Image.Image) -> float:
    """Mean luma (ITU-R 601) of the subject's opaque pixels; 0 when there are none."""
    luma = np.asarray(image.convert("L"), dtype=np.float32)
    opaque = np.asarray(mask) >= OPAQUE
    count = int(opaque.sum())
    return float(luma[opaque].sum() / count) if count else 0.0
