"""`image-processor process`: the terminal side (progress, failure lines, summary, JSON)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import nullcontext

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.settings import Settings
from worker.contact_sheet import render_contact_sheet
from worker.local_files import Outcome, UsageError, collect_inputs, process_files, summarize
from worker.models import runtime
from worker.models.files import ModelFileError
from worker.models.registry import UnknownModelError
from worker.pipeline import PipelineConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def run_process(arguments: argparse.Namespace, settings: Settings) -> int:
    errors = Console(stderr=True, highlight=False)
    try:
        inputs, skipped = collect_inputs(arguments.paths)
    except UsageError as error:
        errors.print(f"image-processor: error: {error}")
        return EXIT_USAGE
    for entry in skipped:
        errors.print(f"skipped: {entry.path}: {entry.reason}", markup=False, soft_wrap=True)
    chain = arguments.model_chain or settings.model_chain
    try:
        models = runtime.load_models(settings.model_copy(update={"model_chain": chain}), threads=0)
    except (ModelFileError, UnknownModelError) as error:
        errors.print(f"image-processor: error: {error}")
        return EXIT_USAGE

    started = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=not errors.is_terminal,
    )
    with progress if errors.is_terminal else nullcontext():
        task = progress.add_task("processing", total=len(inputs))

        def on_done(outcome: Outcome) -> None:
            if outcome.status == "failed":
                progress.console.print(f"failed: {outcome.input}: {outcome.reason}")
            progress.advance(task)

        outcomes, sheet = process_files(
            inputs,
            out_dir=arguments.out,
            models=models,
            config=PipelineConfig.from_settings(settings),
            save_mask=arguments.save_mask,
            collect_sheet=arguments.contact_sheet is not None,
            on_done=on_done,
        )
    if arguments.contact_sheet is not None:
        arguments.contact_sheet.parent.mkdir(parents=True, exist_ok=True)
        arguments.contact_sheet.write_bytes(render_contact_sheet(sheet))
    processed, failed = summarize(outcomes)
    errors.print(
        f"{processed} processed, {failed} failed, {len(skipped)} skipped"
        f" in {time.perf_counter() - started:.1f} s -> {arguments.out}"
    )
    if arguments.json:
        json.dump([outcome.as_dict() for outcome in outcomes], sys.stdout, indent=2)
        sys.stdout.write("\n")
    return EXIT_FAILED if failed else EXIT_OK
