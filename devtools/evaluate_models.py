"""`make eval`: each model, and the cascade of them, against the synthetic set's exact masks.

Per model: mean and worst IoU of the mask (alpha cut at 127), overall and per category; how
often validation passed the real books and rejected the negatives; how often the backdrop
rule picked the colour the case was designed for. For the cascade (the models in the order
given, as MODEL_CHAIN runs them): the same, its escalation rate, its difference from the
chain's last model alone, and that difference at other CASCADE_MAX_DOUBT thresholds (the
calibration curves). It also prints what the measurements suggest for MIN_AREA_RATIO,
MAX_ASPECT_DIFF, BRIGHTNESS_THRESHOLD and CASCADE_MAX_DOUBT, which is how the defaults in
app/settings.py were chosen.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from app.settings import Settings, get_settings
from devtools.mask_scores import (
    CASCADE,
    Measurement,
    by_category,
    cascade_at,
    cascade_config,
    escalation_rate,
    mean_iou,
    score_case,
)
from devtools.synthetic_photos import Case, generate_set, load_manifest
from worker.models import runtime
from worker.models.base import MaskModel

# The quality goal for the cascade against its last model alone (docs/quality.md).
MAX_MEAN_IOU_LOSS = 0.005
MAX_CATEGORY_IOU_LOSS = 0.01
# The calibration curves: one threshold varied, the other at its setting.
DOUBT_THRESHOLDS = (0.0, 0.04, 0.06, 0.07, 0.08, 0.09, 0.1, 0.12, 0.15, 0.2, 0.3, 1.0)
SHADOW_THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.evaluate_models", description=__doc__)
    parser.add_argument("--models", help="the chain, fast first (default: MODEL_CHAIN)")
    parser.add_argument("--images", type=Path, default=Path("out/samples"))
    parser.add_argument("--details", action="store_true", help="print every case's row")
    arguments = parser.parse_args(argv)

    settings = get_settings()
    if arguments.models:
        settings = settings.model_copy(update={"model_chain": arguments.models.split(",")})
    cases = load_manifest(generate_set("eval", arguments.images))
    models = runtime.load_models(settings, threads=settings.ort_intra_op_threads)
    report = evaluate(cases, models, settings)
    if arguments.details:
        console = Console(stderr=True)
        for name, rows in report.pop("rows").items():
            console.print(_table(name, rows))
        console.print(_category_table(report["categories"]))
    else:
        report.pop("rows")
    print(json.dumps(report, indent=2))
    return 0


def evaluate(
    cases: Sequence[Case], models: Sequence[MaskModel], settings: Settings
) -> dict[str, Any]:
    """The whole report; `rows` holds every measurement, by model and for the cascade."""
    chain = [model.name for model in models]
    scores = [score_case(models, case, settings) for case in cases]
    rows: dict[str, list[Measurement]] = {name: [s[name] for s in scores] for name in chain}
    rows[CASCADE] = [cascade_at(s, chain, cascade_config(settings)) for s in scores]
    reference = chain[-1]

    def point(**thresholds: float) -> dict[str, Any]:
        config = cascade_config(settings, **thresholds)
        replayed = [cascade_at(s, chain, config) for s in scores]
        return thresholds | _against(reference, rows[reference], replayed)

    return {
        "cases": len(cases),
        "settings": _thresholds(settings),
        "models": {name: _summarize(found) for name, found in rows.items()},
        "categories": _categories(rows),
        "cascade": _against(reference, rows[reference], rows[CASCADE]),
        "doubt_curve": [point(max_doubt=t) for t in DOUBT_THRESHOLDS],
        "shadow_curve": [point(max_shadow=t) for t in SHADOW_THRESHOLDS],
        "suggested": _suggest(rows[reference]),
        "rows": rows,
    }


def _against(
    reference: str, alone: list[Measurement], cascade: list[Measurement]
) -> dict[str, Any]:
    """The cascade against the chain's last model alone: the goal's three numbers."""
    alone_by, cascade_by = by_category(alone), by_category(cascade)
    deltas = {
        category: mean_iou(cascade_by[category]) - mean_iou(alone_by[category])
        for category in alone_by
    }
    worst = min(deltas, key=deltas.__getitem__)
    mean_delta = mean_iou(cascade) - mean_iou(alone)
    return {
        "against": reference,
        "escalation_rate": round(escalation_rate(cascade), 4),
        "mean_iou_delta": round(mean_delta, 4),
        "worst_category": worst,
        "worst_category_delta": round(deltas[worst], 4),
        "meets_quality_goal": (
            mean_delta >= -MAX_MEAN_IOU_LOSS and deltas[worst] >= -MAX_CATEGORY_IOU_LOSS
        ),
    }


def _categories(rows: dict[str, list[Measurement]]) -> dict[str, dict[str, Any]]:
    grouped = {name: by_category(found) for name, found in rows.items()}
    categories: dict[str, dict[str, Any]] = {}
    for category, first in next(iter(grouped.values())).items():
        entry: dict[str, Any] = {"cases": len(first)}
        for name, groups in grouped.items():
            found = groups[category]
            entry[name] = {
                "mean_iou": round(mean_iou(found), 4),
                "worst_iou": round(min(row.iou for row in found), 4),
            }
        entry[CASCADE]["escalated"] = round(escalation_rate(grouped[CASCADE][category]), 3)
        categories[category] = entry
    return categories


def _summarize(rows: list[Measurement]) -> dict[str, object]:
    books = [row for row in rows if row.expect_valid]
    negatives = [row for row in rows if not row.expect_valid]
    worst = min(books, key=lambda row: row.iou)
    return {
        "mean_iou": round(mean_iou(rows), 4),
        "worst_iou": round(worst.iou, 4),
        "worst_case": worst.case,
        "mean_doubt": round(statistics.mean(row.doubt for row in books), 4),
        "mean_shadow": round(statistics.mean(row.shadow for row in books), 4),
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


def _thresholds(settings: Settings) -> dict[str, object]:
    return {
        "model_chain": ",".join(settings.model_chain),
        "cascade_max_doubt": settings.cascade_max_doubt,
        "cascade_max_shadow": settings.cascade_max_shadow,
        "min_area_ratio": settings.min_area_ratio,
        "max_aspect_diff": settings.max_aspect_diff,
        "brightness_threshold": settings.brightness_threshold,
    }


def _table(name: str, rows: list[Measurement]) -> Table:
    table = Table(title=f"{name} on the evaluation set")
    columns = ("case", "category", "model", "IoU", "doubt", "shadow", "verdict", "backdrop")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.case,
            row.category,
            row.model + (" (escalated)" if row.escalated else ""),
            f"{row.iou:.3f}",
            f"{row.doubt:.3f}",
            f"{row.shadow:.3f}",
            row.verdict_reason or "passed",
            f"{row.background} ({row.expected_background})",
        )
    return table


def _category_table(categories: dict[str, dict[str, Any]]) -> Table:
    names = [key for key in next(iter(categories.values())) if key != "cases"]
    table = Table(title="mean IoU by category (worst in brackets)")
    for column in ("category", "cases", *names, "escalated"):
        table.add_column(column)
    for category, entry in categories.items():
        cells = [f"{entry[n]['mean_iou']:.3f} ({entry[n]['worst_iou']:.3f})" for n in names]
        table.add_row(category, str(entry["cases"]), *cells, f"{entry[CASCADE]['escalated']:.0%}")
    return table


if __name__ == "__main__":
    sys.exit(main())
