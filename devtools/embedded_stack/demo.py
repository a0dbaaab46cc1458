"""`make demo`: the whole distributed path on one machine, no Docker, once.

Starts the embedded stack (devtools/embedded_stack/stack.py), imports the sample book through
the API's listing import, queues the rest of its photos, waits for the jobs, prints a table,
writes out/contact-sheet.png, and stops everything it started. `make up` runs the same stack
and keeps it running for you to explore.
"""

from __future__ import annotations

import argparse
import sys
import time
from io import BytesIO
from pathlib import Path

from PIL import Image
from rich.console import Console

from app.settings import get_settings
from devtools.embedded_stack.processes import Supervisor
from devtools.embedded_stack.sample_book import import_sample_book, print_jobs, wait_for_jobs
from devtools.embedded_stack.stack import (
    RunningStack,
    add_redis_port_argument,
    ok,
    stack_env,
    start_stack,
)
from devtools.synthetic_photos import generate_set, load_manifest
from worker.contact_sheet import SheetEntry, render_contact_sheet

console = Console()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.embedded_stack.demo", description=__doc__
    )
    parser.add_argument("--out", type=Path, default=Path("out"))
    add_redis_port_argument(parser)
    arguments = parser.parse_args(argv)
    out: Path = arguments.out.resolve()
    started = time.monotonic()
    photos = [case.image_path for case in load_manifest(generate_set("demo", out / "samples"))]
    env = stack_env(get_settings(), out / "demo-stack", redis_port=arguments.redis_port)
    supervisor = Supervisor(log_dir=out / "demo-stack" / "logs", env=env)
    try:
        stack = start_stack(supervisor, env, out / "demo-stack")
        with stack.api() as api:
            book_id, jobs = import_sample_book(stack, api, photos)
            console.print(f"book {book_id}: {len(jobs)} photos imported, jobs queued")
            finished = wait_for_jobs(console, api, book_id, len(jobs))
            print_jobs(console, finished)
            write_results(stack, api, book_id, finished, out)
    finally:
        console.print("stopping the stack")
        supervisor.stop_all()
    console.print(f"demo done in {time.monotonic() - started:.0f} s; logs in {supervisor.log_dir}")
    console.print("`make up` runs the same stack until Ctrl-C, with the API and Flower to explore")
    failed = [job for job in finished if job["status"] != "completed"]
    return 1 if failed else 0


def write_results(stack: RunningStack, api, book_id: int, jobs: list[dict], out: Path) -> None:
    """Each processed PNG as the worker stored it in S3 (out/demo/), and the contact sheet."""
    s3 = stack.s3()
    images = {image["id"]: image for image in ok(api.get(f"/books/{book_id}"))["images"]}

    def fetch(image_id: int) -> Image.Image:
        key = f"books/{images[image_id]['s3_key']}"
        body = s3.get_object(Bucket=stack.env["IMAGES_BUCKET"], Key=key)["Body"].read()
        if key.endswith(".png"):
            (out / "demo" / Path(key).name).write_bytes(body)
        return Image.open(BytesIO(body))

    (out / "demo").mkdir(parents=True, exist_ok=True)
    entries = [
        SheetEntry(
            label=f"image {job['source_image_id']}: {job['model_used']}, {job['background_color']}",
            before=fetch(job["source_image_id"]),
            after=fetch(job["result_image_id"]) if job["result_image_id"] else None,
        )
        for job in sorted(jobs, key=lambda job: job["source_image_id"])
    ]
    (out / "contact-sheet.png").write_bytes(render_contact_sheet(entries))
    console.print(f"results: {out / 'demo'}; contact sheet: {out / 'contact-sheet.png'}")


if __name__ == "__main__":
    sys.exit(main())
