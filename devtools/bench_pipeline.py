"""`make bench`: the pipeline against raw onnxruntime and against rembg.remove, one run, one JSON.

On the same images, in the same process, with the same preloaded session:
- raw_ort_s: median `session.run` at the model's input size (input prepared beforehand);
- pipeline_s: median `process_image_bytes` (decode to PNG bytes) with a one-model chain;
- rembg_s: median `rembg.remove(data, session=...)` (bytes to PNG bytes).
The three are interleaved per image, in rotating order, so drift in machine load
falls on all of them alike. Cold start is a new process, timed from spawn to its
first result.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from app.settings import get_settings
from worker.models import runtime
from worker.models.base import MaskModel
from worker.pipeline import PipelineConfig, PipelineError, process_image_bytes

ROUNDS = 2
MIN_IMAGES = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench_pipeline", description=__doc__)
    parser.add_argument("--model", default="u2net")
    parser.add_argument("--images", type=Path, default=Path("out/samples"))
    arguments = parser.parse_args(argv)

    from devtools.synthetic_photos import generate_set, load_manifest

    photos = [case.image_path for case in load_manifest(generate_set("bench", arguments.images))]
    settings = get_settings().model_copy(update={"model_chain": [arguments.model]})
    runtime.prepare_environment(settings)
    import rembg  # noqa: F401 - imported before timing, as a worker would have it

    (model,) = runtime.load_models(settings, threads=settings.ort_intra_op_threads)
    config = PipelineConfig.from_settings(settings)
    from PIL import Image
    from rembg import remove

    # Only photos the pipeline accepts: a rejected one skips compositing and
    # encoding, and would flatter the pipeline's time.
    photos = [path for path in photos if _accepted(path.read_bytes(), model, config)]
    if len(photos) < MIN_IMAGES:
        raise SystemExit(f"only {len(photos)} bench photos pass validation; need {MIN_IMAGES}")
    images = [path.read_bytes() for path in photos]
    feeds = [model.prepare(Image.open(path).convert("RGB")) for path in photos]

    def raw(index: int) -> None:
        model.run(feeds[index])

    def pipeline(index: int) -> None:
        process_image_bytes(images[index], models=[model], config=config)

    def rembg_remove(index: int) -> None:
        remove(images[index], session=model.session)

    runs = {"raw": raw, "pipeline": pipeline, "rembg": rembg_remove}
    medians = interleaved_medians(runs, len(images))
    raw_s, pipeline_s, rembg_s = medians["raw"], medians["pipeline"], medians["rembg"]
    megapixels = [Image.open(path).width * Image.open(path).height / 1e6 for path in photos]
    result = {
        "model": arguments.model,
        "images": len(images),
        "megapixels_min": round(min(megapixels), 2),
        "megapixels_max": round(max(megapixels), 2),
        "rounds": ROUNDS,
        "raw_ort_s": round(raw_s, 4),
        "pipeline_s": round(pipeline_s, 4),
        "rembg_s": round(rembg_s, 4),
        "pipeline_over_raw": round(pipeline_s / raw_s, 3),
        "pipeline_over_rembg": round(pipeline_s / rembg_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cold_start_s": round(cold_start(photos[0], arguments.model), 2),
    }
    print(json.dumps(result))
    return 0


def interleaved_medians(runs: dict[str, Callable[[int], object]], count: int) -> dict[str, float]:
    """Median seconds of each run over images 0..count-1, ROUNDS times, in an order rotating
    per image, so drift in the machine's load falls on all of them alike."""
    timings: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs.items())
    for round_number in range(ROUNDS):
        for index in range(count):
            shift = (index + round_number) % len(order)
            for name, run in order[shift:] + order[:shift]:
                started = time.perf_counter()
                run(index)
                timings[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in timings.items()}


def _accepted(data: bytes, model: MaskModel, config: PipelineConfig) -> bool:
    try:
        process_image_bytes(data, models=[model], config=config)  # also warms the arena
    except PipelineError as error:
        print(f"bench: skipping a photo the pipeline rejects: {error}", file=sys.stderr)
        return False
    return True


def cold_start(photo: Path, model_name: str) -> float:
    """Seconds from spawning a new interpreter to its first processed image."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.settings import get_settings\n"
        "from worker.models import runtime\n"
        "from worker.pipeline import PipelineConfig, process_image_bytes\n"
        f"settings = get_settings().model_copy(update={{'model_chain': [{model_name!r}]}})\n"
        "models = runtime.load_models(settings, threads=settings.ort_intra_op_threads)\n"
        f"process_image_bytes(Path({str(photo)!r}).read_bytes(), models=models,\n"
        "                    config=PipelineConfig.from_settings(settings))\n"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
