"""`make bench`: the cascade and u2net alone against rembg.remove, and the eval set: one JSON.

On the bench photos, in one process, interleaved per image in rotating order (so drift in
the machine's load falls on all of them alike), each timed from bytes to PNG bytes:
- cascade: `process_image_bytes` with MODEL_CHAIN (the default u2netp -> u2net cascade);
- pipeline: `process_image_bytes` with u2net alone;
- rembg: `rembg.remove(data, session=...)` with rembg's own u2net session;
- raw_ort: u2net's `session.run` alone, on an input prepared beforehand.
`cascade_over_rembg` is throughput (photos per second) over rembg's, from the summed times.
Then the eval set (devtools/evaluate_models.py) gives the cascade's quality against u2net
alone, and the published reference photo which model the cascade picks and how close its
mask is to rembg's output of that model. Cold start is a new process, timed from spawn to
its first result.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.settings import Settings, get_settings
from devtools.evaluate_models import evaluate
from devtools.rembg_reference import rembg_session
from devtools.synthetic_photos import generate_set, load_manifest
from worker.models import runtime
from worker.models.base import MaskModel
from worker.models.registry import get_spec
from worker.pipeline import PipelineConfig, PipelineError, process_image_bytes

ROUNDS = 2
MIN_IMAGES = 10
BASELINE = "u2net"  # what the cascade is measured against: rembg's default model
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "rembg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench_pipeline", description=__doc__)
    parser.add_argument("--images", type=Path, default=Path("out/samples"))
    parser.add_argument("--skip-eval", action="store_true", help="timings only")
    arguments = parser.parse_args(argv)

    settings = get_settings()
    if BASELINE not in settings.model_chain:
        raise SystemExit(f"MODEL_CHAIN must include {BASELINE}, the baseline")
    chain = runtime.load_models(settings, threads=settings.ort_intra_op_threads)
    (baseline,) = [model for model in chain if model.name == BASELINE]
    rembg = rembg_session(
        get_spec(BASELINE), settings.u2net_home, threads=settings.ort_intra_op_threads
    )
    from rembg import remove

    config = PipelineConfig.from_settings(settings)
    photos = [case.image_path for case in load_manifest(generate_set("bench", arguments.images))]
    # Only photos u2net alone accepts: a rejected one skips compositing and encoding, and
    # would flatter the pipeline's time.
    photos = [path for path in photos if _accepted(path.read_bytes(), [baseline], config)]
    if len(photos) < MIN_IMAGES:
        raise SystemExit(f"only {len(photos)} bench photos pass validation; need {MIN_IMAGES}")
    images = [path.read_bytes() for path in photos]
    feeds = [baseline.prepare(Image.open(path).convert("RGB")) for path in photos]
    escalated: list[bool] = []

    def cascade(index: int) -> None:
        escalated.append(process_image_bytes(images[index], models=chain, config=config).escalated)

    runs: dict[str, Callable[[int], object]] = {
        "cascade": cascade,
        "pipeline": lambda index: process_image_bytes(
            images[index], models=[baseline], config=config
        ),
        "rembg": lambda index: remove(images[index], session=rembg),
        "raw": lambda index: baseline.run(feeds[index]),
    }
    timings = interleaved_timings(runs, len(images))
    median = {name: statistics.median(values) for name, values in timings.items()}
    total = {name: sum(values) for name, values in timings.items()}
    megapixels = [Image.open(path).width * Image.open(path).height / 1e6 for path in photos]
    result: dict[str, Any] = {
        "model_chain": ",".join(settings.model_chain),
        "cascade_max_doubt": settings.cascade_max_doubt,
        "cascade_max_shadow": settings.cascade_max_shadow,
        "images": len(images),
        "megapixels_min": round(min(megapixels), 2),
        "megapixels_max": round(max(megapixels), 2),
        "rounds": ROUNDS,
        "cascade_s": round(median["cascade"], 4),
        "pipeline_s": round(median["pipeline"], 4),
        "rembg_s": round(median["rembg"], 4),
        "raw_ort_s": round(median["raw"], 4),
        "cascade_over_rembg": round(total["rembg"] / total["cascade"], 3),
        "pipeline_over_rembg": round(total["rembg"] / total["pipeline"], 3),
        "escalation_rate": round(sum(escalated) / len(escalated), 4),
    }
    if not arguments.skip_eval:
        result |= _quality(settings, chain, arguments.images)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["cold_start_s"] = round(cold_start(photos[0]), 2)
    print(json.dumps(result))
    return 0


def _quality(settings: Settings, chain: Sequence[MaskModel], images: Path) -> dict[str, Any]:
    """The eval set's verdict on the cascade against u2net alone, and the reference photo's."""
    cases = load_manifest(generate_set("eval", images))
    report = evaluate(cases, chain, settings)
    quality = {
        "eval_cases": report["cases"],
        "eval_mean_iou_delta": report["cascade"]["mean_iou_delta"],
        "eval_worst_category": report["cascade"]["worst_category"],
        "eval_worst_category_delta": report["cascade"]["worst_category_delta"],
        "eval_escalation_rate": report["cascade"]["escalation_rate"],
        "eval_meets_quality_goal": report["cascade"]["meets_quality_goal"],
    }
    photo = REFERENCE / "anime-girl-1.jpg"
    if photo.exists():
        picked = process_image_bytes(
            photo.read_bytes(), models=chain, config=PipelineConfig.from_settings(settings)
        )
        theirs = Image.open(REFERENCE / f"anime-girl-1.{picked.model}.png").getchannel("A")
        ours, expected = np.asarray(picked.mask) > 127, np.asarray(theirs) > 127
        quality["reference_model"] = picked.model
        quality["reference_iou"] = round(
            float((ours & expected).sum() / (ours | expected).sum()), 4
        )
    return quality


def interleaved_timings(
    runs: dict[str, Callable[[int], object]], count: int
) -> dict[str, list[float]]:
    """Seconds of each run over images 0..count-1, ROUNDS times, in an order rotating per
    image, so drift in the machine's load falls on all of them alike."""
    timings: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs.items())
    for round_number in range(ROUNDS):
        for index in range(count):
            shift = (index + round_number) % len(order)
            for name, run in order[shift:] + order[:shift]:
                started = time.perf_counter()
                run(index)
                timings[name].append(time.perf_counter() - started)
    return timings


def _accepted(data: bytes, models: Sequence[MaskModel], config: PipelineConfig) -> bool:
    try:
        process_image_bytes(data, models=models, config=config)  # also warms the arena
    except PipelineError as error:
        print(f"bench: skipping a photo the pipeline rejects: {error}", file=sys.stderr)
        return False
    return True


def cold_start(photo: Path) -> float:
    """Seconds from spawning a new interpreter to its first processed image with MODEL_CHAIN."""
    script = (
        "from pathlib import Path\n"
        "from app.settings import get_settings\n"
        "from worker.models import runtime\n"
        "from worker.pipeline import PipelineConfig, process_image_bytes\n"
        "settings = get_settings()\n"
        "models = runtime.load_models(settings, threads=settings.ort_intra_op_threads)\n"
        f"process_image_bytes(Path({str(photo)!r}).read_bytes(), models=models,\n"
        "                    config=PipelineConfig.from_settings(settings))\n"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
