"""`make eval`: each model against the synthetic set's exact ground truth.

Per model: mean and worst IoU of the mask (alpha cut at 127), how often
validation passed the real books and rejected the negatives, and how often the
backdrop rule picked the colour the case was designed for. It also prints what
the measurements suggest for MIN_AREA_RATIO, MAX_ASPECT_DIFF and
BRIGHTNESS_THRESHOLD, which is how the defaults in app/settings.py were chosen.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from app.settings import Settings, get_settings
from devtools.synthetic_photos import Case, generate_set, load_manifest
from worker.models import runtime
from worker.models.base import MaskModel
from worker.pipeline.decode import decode_image
from worker.pipeline.quality import (
    OPAQUE,
    judge_mask,
    select_background_color,
    subject_brightness,
)


@dataclass(frozen=True)
class Measurement:
    case: str
    expect_valid: bool
    expected_reason: str | None
    expected_background: str
    iou: float
    area_ratio: float
    aspect_diff: float
    verdict_reason: str | None
    brightness: float
    background: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.evaluate_models", description=__doc__)
    parser.add_argument("--models", default="u2net,u2netp")
    parser.add_argument("--images", type=Path, default=Path("out/samples"))
    parser.add_argument("--details", action="store_true", help="print every case's row")
    arguments = parser.parse_args(argv)

    cases = load_manifest(generate_set("eval", arguments.images))
    settings = get_settings().model_copy(update={"model_chain": arguments.models.split(",")})
    models = runtime.load_models(settings, threads=settings.ort_intra_op_threads)
    console = Console(stderr=True)
    summary = {"cases": len(cases), "settings": _thresholds(settings), "models": {}}
    for model in models:
        rows = [measure(model, case, settings) for case in cases]
        if arguments.details:
            console.print(_table(model.name, rows))
        summary["models"][model.name] = _summarize(rows) | {"suggested": _suggest(rows)}
    print(json.dumps(summary, indent=2))
    return 0


def measure(model: MaskModel, case: Case, settings: Settings) -> Measurement:
    decoded = decode_image(
        case.image_path.read_bytes(),
        max_pixels=settings.max_image_pixels,
        max_dimension=settings.max_image_dimension,
    )
    image = decoded.rgb
    mask = model.predict_mask(image)
    truth = Image.open(case.mask_path).convert("L").resize(image.size, Image.Resampling.NEAREST)
    ours, theirs = np.asarray(mask) >= OPAQUE, np.asarray(truth) >= OPAQUE
    union = (ours | theirs).sum()
    iou = float((ours & theirs).sum() / union) if union else 1.0
    box, verdict = judge_mask(
        mask, min_area_ratio=settings.min_area_ratio, max_aspect_diff=settings.max_aspect_diff
    )
    width, height = (box[2] - box[0], box[3] - box[1]) if box else (0, 0)
    brightness = subject_brightness(image, mask)
    return Measurement(
        case=case.id,
        expect_valid=case.expect_valid,
        expected_reason=case.expected_reason,
        expected_background=case.expected_background,
        iou=iou,
        area_ratio=width * height / (image.width * image.height),
        aspect_diff=(
            abs(math.log((width / height) / (image.width / image.height))) if box else math.inf
        ),
        verdict_reason=verdict["reason"],
        brightness=brightness,
        background=select_background_color(brightness, threshold=settings.brightness_threshold),
    )


def _summarize(rows: list[Measurement]) -> dict[str, object]:
    books = [row for row in rows if row.expect_valid]
    negatives = [row for row in rows if not row.expect_valid]
    worst = min(books, key=lambda row: row.iou)
    return {
        "mean_iou": round(statistics.mean(row.iou for row in books), 4),
        "worst_iou": round(worst.iou, 4),
        "worst_case": worst.case,
        "validation_passed": f"{sum(row.verdict_reason is None for row in books)}/{len(books)}",
        "negatives_rejected": (
            f"{sum(row.verdict_reason == row.expected_reason for row in negatives)}"
            f"/{len(negatives)}"
        ),
        "backdrop_as_designed": (
            f"{sum(row.background == row.expected_background for row in books)}/{len(books)}"
        ),
        "failed_validation": [
            f"{row.case}: {row.verdict_reason}" for row in books if row.verdict_reason
        ],
        "wrong_backdrop": [
            f"{row.case}: {row.brightness:.1f} -> {row.background}"
            for row in books
            if row.background != row.expected_background
        ],
    }


def _suggest(rows: list[Measurement]) -> dict[str, float]:
    """Thresholds that separate the measured books from the negatives, with margin."""
    books = [row for row in rows if row.expect_valid]
    dark = [row.brightness for row in books if row.expected_background == "black"]
    light = [row.brightness for row in books if row.expected_background == "white"]
    tiny = [row.area_ratio for row in rows if row.expected_reason == "area_too_small"]
    return {
        "smallest_book_area_ratio": round(min(row.area_ratio for row in books), 4),
        "largest_negative_area_ratio": round(max(tiny, default=0.0), 4),
        "largest_book_aspect_diff": round(max(row.aspect_diff for row in books), 3),
        "brightest_dark_book": round(max(dark, default=0.0), 1),
        "darkest_light_book": round(min(light, default=255.0), 1),
    }


def _thresholds(settings: Settings) -> dict[str, float]:
    return {
        "min_area_ratio": settings.min_area_ratio,
        "max_aspect_diff": settings.max_aspect_diff,
        "brightness_threshold": settings.brightness_threshold,
    }


def _table(name: str, rows: list[Measurement]) -> Table:
    table = Table(title=f"{name} on the evaluation set")
    columns = ("case", "IoU", "area", "aspect", "verdict", "brightness", "backdrop", "expected")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.case,
            f"{row.iou:.3f}",
            f"{row.area_ratio:.3f}",
            f"{row.aspect_diff:.2f}",
            row.verdict_reason or "passed",
            f"{row.brightness:.1f}",
            row.background,
            row.expected_background,
        )
    return table


if __name__ == "__main__":
    sys.exit(main())
