"""The sample book: the demo photos imported through the API's listing import, then processed."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from devtools.embedded_stack.stack import RunningStack, ok

JOB_TIMEOUT_S = 150
LISTING_ID = "demo-listing"
FINISHED = ("completed", "failed")


def import_sample_book(
    stack: RunningStack, api: httpx.Client, photos: list[Path]
) -> tuple[int, list[dict]]:
    """Photos into `listings/<id>/`, a book, the listing import, then the other photos queued."""
    s3 = stack.s3()
    for photo in photos:
        s3.put_object(
            Bucket=stack.env["IMAGES_BUCKET"],
            Key=f"listings/{LISTING_ID}/{photo.name}",
            Body=photo.read_bytes(),
            ContentType="image/jpeg",
        )
    book = ok(api.post("/books", json={"title": "Demo shelf"}))
    imported = ok(api.post(f"/books/{book['id']}/imports", json={"listing_id": LISTING_ID}))
    jobs = [imported["job"]]
    for image in imported["images"][1:]:
        jobs.append(ok(api.post(f"/books/{book['id']}/images/{image['id']}/process")))
    return book["id"], jobs


def wait_for_jobs(console: Console, api: httpx.Client, book_id: int, count: int) -> list[dict]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    with console.status("waiting for the worker"):
        while time.monotonic() < deadline:
            jobs = ok(api.get(f"/books/{book_id}/jobs"))["items"]
            if len(jobs) >= count and all(job["status"] in FINISHED for job in jobs):
                return jobs
            time.sleep(0.5)
    raise TimeoutError(f"jobs of book {book_id} not finished within {JOB_TIMEOUT_S} s")


def print_jobs(console: Console, jobs: list[dict]) -> None:
    table = Table(title="sample book jobs")
    for column in ("job", "image", "status", "model", "brightness", "backdrop", "seconds"):
        table.add_column(column)
    for job in sorted(jobs, key=lambda job: job["source_image_id"]):
        brightness = job["subject_brightness"]
        table.add_row(
            str(job["id"])[:8],
            str(job["source_image_id"]),
            job["status"] if job["status"] == "completed" else f"failed: {job['failure_reason']}",
            job["model_used"] or "-",
            f"{brightness:.1f}" if brightness is not None else "-",
            job["background_color"] or "-",
            f"{_seconds(job):.1f}",
        )
    console.print(table)


def _seconds(job: dict) -> float:
    if not job.get("completed_at"):
        return 0.0
    end = datetime.fromisoformat(job["completed_at"])
    return (end - datetime.fromisoformat(job["created_at"])).total_seconds()
