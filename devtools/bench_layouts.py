"""`make bench-layouts`: images per second of one worker task for each pool layout.

A layout is P pool processes with T onnxruntime threads each (WORKER_CONCURRENCY and
ORT_INTRA_OP_THREADS). Each process loads the model chain as a pool process does, then all
start together on one shared list of bench photos (the full pipeline, bytes to PNG), so the
figure is the task's throughput with its processes competing for the cores, as in production.
One JSON line per layout, then a summary line naming the fastest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

LAYOUTS = ((1, 1), (1, 2), (2, 1), (2, 2))


def _process(threads: int, photos: list[bytes], work: Any, start: Any, done: Any) -> None:
    from app.settings import get_settings
    from worker.models import runtime
    from worker.pipeline import PipelineConfig, PipelineError, process_image_bytes

    settings = get_settings()
    models = runtime.load_models(settings, threads=threads)
    config = PipelineConfig.from_settings(settings)
    start.wait()
    count = 0
    while True:
        with work.get_lock():
            index = work.value
            work.value += 1
        if index >= len(photos):
            break
        # A rejected photo is work done too, as in production.
        with contextlib.suppress(PipelineError):
            process_image_bytes(photos[index], models=models, config=config)
        count += 1
    done.put((count, time.perf_counter()))


def measure(processes: int, threads: int, photos: list[bytes]) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a pool process
    work, done = context.Value("i", 0), context.Queue()
    start = context.Barrier(processes + 1)
    children = [
        context.Process(target=_process, args=(threads, photos, work, start, done))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    start.wait()
    began = time.perf_counter()
    finished = [done.get() for _ in children]
    for child in children:
        child.join()
    elapsed = max(end for _, end in finished) - began
    return {
        "processes": processes,
        "threads": threads,
        "images": sum(count for count, _ in finished),
        "seconds": round(elapsed, 2),
        "images_per_second": round(len(photos) / elapsed, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench_layouts", description=__doc__)
    parser.add_argument("--images", type=Path, default=Path("out/samples"))
    parser.add_argument("--rounds", type=int, default=3, help="passes over the bench photos")
    arguments = parser.parse_args(argv)

    from devtools.synthetic_photos import generate_set, load_manifest

    cases = load_manifest(generate_set("bench", arguments.images))
    photos = [case.image_path.read_bytes() for case in cases] * arguments.rounds
    results = []
    for processes, threads in LAYOUTS:
        result = measure(processes, threads, photos)
        results.append(result)
        print(json.dumps(result), flush=True)
    best = max(results, key=lambda result: result["images_per_second"])
    summary = {"cpus": os.cpu_count(), "photos": len(photos), "best": best}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
