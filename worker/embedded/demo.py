"""`make demo`: the whole distributed path on one machine, no Docker.

Starts on loopback moto_server (SQS + S3), the database (SQLite, or the
Postgres of DATABASE_URL), a real Celery worker, beat, the API, and Flower when
a Redis answers on 127.0.0.1:6379; imports a demo book from the sample photos
through the API's listing import, queues the rest of its photos, waits for the
jobs, prints a table, writes out/contact-sheet.png, and stops everything it
started.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

import boto3
import httpx
from rich.console import Console
from rich.table import Table

from app.settings import Settings, get_settings
from worker.contact_sheet import SheetEntry, render_contact_sheet
from worker.embedded.infra import create_local_infrastructure
from worker.embedded.processes import BIN, Supervisor, free_port, port_open
from worker.synth import generate_set, load_manifest

JOB_TIMEOUT_S = 150
LISTING_ID = "demo-listing"
console = Console()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.embedded.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"))
    arguments = parser.parse_args(argv)
    out: Path = arguments.out.resolve()
    started = time.monotonic()
    photos = [case.image_path for case in load_manifest(generate_set("demo", out / "samples"))]
    env = stack_env(get_settings(), out / "demo-stack")
    supervisor = Supervisor(log_dir=out / "demo-stack" / "logs", env=env)
    try:
        api = start_stack(supervisor, env, out / "demo-stack")
        book_id, jobs = import_demo_book(api, env, photos)
        finished = wait_for_jobs(api, book_id, len(jobs))
        print_table(finished)
        write_results(env, api, book_id, finished, out)
    finally:
        console.print("stopping the stack")
        supervisor.stop_all()
    console.print(f"demo done in {time.monotonic() - started:.0f} s; logs in {supervisor.log_dir}")
    failed = [job for job in finished if job["status"] != "completed"]
    return 1 if failed else 0


def stack_env(settings: Settings, run_dir: Path) -> dict[str, str]:
    """The settings every process of the stack shares, as environment variables."""
    run_dir.mkdir(parents=True, exist_ok=True)
    database_url = settings.database_url.get_secret_value()
    if database_url.startswith("sqlite"):  # the default: a fresh embedded database per run
        database = run_dir / "image-processor.db"
        database.unlink(missing_ok=True)
        database_url = f"sqlite:///{database}"
    env = {
        "ENVIRONMENT": "local",
        "LOG_FORMAT": "text",
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_REGION": settings.aws_region,
        "IMAGES_BUCKET": "image-processor-demo",
        "IMAGE_PROCESSING_QUEUE_NAME": "image-processing-demo",
        "STORAGE_BACKEND": "s3",
        "MODEL_CHAIN": ",".join(settings.model_chain),
        "U2NET_HOME": str(settings.u2net_home),
        "WORKER_HEARTBEAT_FILE": str(run_dir / "worker.alive"),
        "API_PORT": str(free_port()),
    }
    if port_open(6379):
        env["EVENTS_BROKER_URL"] = "redis://127.0.0.1:6379/7"
        env["FLOWER_BASIC_AUTH"] = f"demo:{secrets.token_urlsafe(12)}"
        env["FLOWER_ADDRESS"] = "127.0.0.1"
        env["FLOWER_PORT"] = str(free_port())
    return env


def start_stack(supervisor: Supervisor, env: dict[str, str], run_dir: Path) -> httpx.Client:
    moto_port = int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    supervisor.start("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)])
    supervisor.wait_for_port("moto", moto_port)
    # boto3 in this process signs its calls to the emulator with the stack's dummy keys.
    os.environ.update({key: env[key] for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    create_local_infrastructure(
        get_settings().model_copy(
            update={
                "aws_endpoint_url": env["AWS_ENDPOINT_URL"],
                "images_bucket": env["IMAGES_BUCKET"],
                "image_processing_queue_name": env["IMAGE_PROCESSING_QUEUE_NAME"],
            }
        )
    )
    migrate = supervisor.start("migrate", [str(BIN / "python"), "-m", "app.migrate"])
    if migrate.wait(timeout=120) != 0:
        supervisor.check_alive("migrate")
    celery = [str(BIN / "celery"), "-A", "worker.celery_app"]
    supervisor.start("worker", [*celery, "worker", "--loglevel", "INFO"])
    beat_file = str(run_dir / "celerybeat-schedule")
    supervisor.start("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", beat_file])
    port = int(env["API_PORT"])
    supervisor.start(
        "api",
        [str(BIN / "uvicorn"), "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
    )
    if "FLOWER_PORT" in env:
        supervisor.start("flower", [str(BIN / "python"), "-m", "worker.flower"])
    supervisor.wait_for_port("api", port)
    supervisor.wait_for_log("worker", "ready.")
    if "FLOWER_PORT" in env:
        supervisor.wait_for_port("flower", int(env["FLOWER_PORT"]))
        user, password = env["FLOWER_BASIC_AUTH"].split(":", 1)
        console.print(
            f"Flower: http://127.0.0.1:{env['FLOWER_PORT']}/ (user {user}, password {password})"
        )
    else:
        console.print("Flower: not started (no Redis on 127.0.0.1:6379 for the events bus)")
    console.print(f"API: http://127.0.0.1:{port}/docs")
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)


def import_demo_book(
    api: httpx.Client, env: dict[str, str], photos: list[Path]
) -> tuple[int, list[dict]]:
    """Photos into `listings/<id>/`, a book, the listing import, then the other photos queued."""
    s3 = _s3(env)
    for photo in photos:
        s3.put_object(
            Bucket=env["IMAGES_BUCKET"],
            Key=f"listings/{LISTING_ID}/{photo.name}",
            Body=photo.read_bytes(),
            ContentType="image/jpeg",
        )
    book = _ok(api.post("/books", json={"title": "Demo shelf"}))
    imported = _ok(api.post(f"/books/{book['id']}/imports", json={"listing_id": LISTING_ID}))
    jobs = [imported["job"]]
    for image in imported["images"][1:]:
        jobs.append(_ok(api.post(f"/books/{book['id']}/images/{image['id']}/process")))
    console.print(f"book {book['id']}: {len(imported['images'])} photos imported, jobs queued")
    return book["id"], jobs


def wait_for_jobs(api: httpx.Client, book_id: int, count: int) -> list[dict]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    with console.status("waiting for the worker"):
        while time.monotonic() < deadline:
            jobs = _ok(api.get(f"/books/{book_id}/jobs"))["items"]
            if len(jobs) >= count and all(j["status"] in ("completed", "failed") for j in jobs):
                return jobs
            time.sleep(0.5)
    raise TimeoutError(f"jobs of book {book_id} not finished within {JOB_TIMEOUT_S} s")


def print_table(jobs: list[dict]) -> None:
    table = Table(title="demo jobs")
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


def write_results(
    env: dict[str, str], api: httpx.Client, book_id: int, jobs: list[dict], out: Path
) -> None:
    """Each processed PNG as the worker stored it in S3 (out/demo/), and the contact sheet."""
    from io import BytesIO

    from PIL import Image

    s3 = _s3(env)
    images = {image["id"]: image for image in _ok(api.get(f"/books/{book_id}"))["images"]}

    def fetch(image_id: int) -> Image.Image:
        key = f"books/{images[image_id]['s3_key']}"
        body = s3.get_object(Bucket=env["IMAGES_BUCKET"], Key=key)["Body"].read()
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


def _seconds(job: dict) -> float:
    from datetime import datetime

    if not job.get("completed_at"):
        return 0.0
    end = datetime.fromisoformat(job["completed_at"])
    return (end - datetime.fromisoformat(job["created_at"])).total_seconds()


def _s3(env: dict[str, str]):
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _ok(response: httpx.Response) -> dict:
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()


if __name__ == "__main__":
    sys.exit(main())
