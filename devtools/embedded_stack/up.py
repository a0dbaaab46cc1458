"""`make up`: the embedded stack, kept running until Ctrl-C.

The stack of `make demo` (moto_server, the database, a Celery worker, beat, the API, and Flower
on the events bus: the Redis on 127.0.0.1:6379, or an embedded valkey-server when none answers),
with the sample book processed. Then it prints the API
docs, Flower's URL and credentials and a curl line for your own photo, ends with the line
READY_LINE, and waits. Ctrl-C (or SIGTERM) stops every process it started, by process group;
so does any of them exiting on its own, with the end of that one's log.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from rich.console import Console

from app.settings import get_settings
from devtools.embedded_stack.processes import Supervisor
from devtools.embedded_stack.sample_book import import_sample_book, print_jobs, wait_for_jobs
from devtools.embedded_stack.stack import (
    RunningStack,
    add_redis_port_argument,
    stack_env,
    start_stack,
)
from devtools.synthetic_photos import generate_set, load_manifest

READY_LINE = "image-processor is up: Ctrl-C stops everything it started"
console = Console()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.embedded_stack.up", description=__doc__
    )
    parser.add_argument("--out", type=Path, default=Path("out"))
    add_redis_port_argument(parser)
    arguments = parser.parse_args(argv)
    out: Path = arguments.out.resolve()
    photos = [case.image_path for case in load_manifest(generate_set("demo", out / "samples"))]
    env = stack_env(get_settings(), out / "up-stack", redis_port=arguments.redis_port)
    supervisor = Supervisor(log_dir=out / "up-stack" / "logs", env=env)
    # Ctrl-C and `kill PID` both stop it. SIGINT is set explicitly: a shell that starts a
    # command in the background starts it with SIGINT ignored, and `kill -INT` must still work.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        stack = start_stack(supervisor, env, out / "up-stack")
        with stack.api() as api:
            book_id, jobs = import_sample_book(stack, api, photos)
            print_jobs(console, wait_for_jobs(console, api, book_id, len(jobs)))
        print_ready(stack, book_id, supervisor.log_dir)
        while True:  # until Ctrl-C, or a process of the stack exits on its own
            supervisor.check_all_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping the stack")
        return 0
    except RuntimeError as error:
        console.print(f"stopping the stack: {error}", markup=False)
        return 1
    finally:
        # A second Ctrl-C while the processes stop must not cut this short and leave some behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all()
        console.print(f"stopped every process it started; logs in {supervisor.log_dir}")


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def print_ready(stack: RunningStack, book_id: int, log_dir: Path) -> None:
    """Plain print, not rich: rich wraps at the terminal's width, and these lines are copied."""
    api = stack.api_url
    lines = [
        f"The sample book (book {book_id}) is processed. Explore:",
        f"  API docs:   {api}/docs",
        f"  Review:     {api}/review?book={book_id}",
    ]
    user, password = stack.flower_credentials
    lines.append(f"  Flower:     {stack.flower_url}  (user {user}, password {password})")
    env = stack.env
    bus = "embedded valkey-server, stopped with the stack" if stack.embedded_bus else "running"
    lines.append(f"  Events bus: {env['EVENTS_BROKER_URL']}  ({bus})")
    # moto refuses unsigned reads; curl signs with the stack's dummy keys (curl >= 7.75).
    signed = f"--aws-sigv4 aws:amz:{env['AWS_REGION']}:s3 --user {env['AWS_ACCESS_KEY_ID']}:"
    signed += env["AWS_SECRET_ACCESS_KEY"]
    result = f"{env['AWS_ENDPOINT_URL']}/{env['IMAGES_BUCKET']}/books/<s3_key>"
    lines += [
        "  Your photo: (as the book's primary image, which queues it)",
        f"    curl -F file=@your-photo.jpg -F is_primary=true {api}/books/{book_id}/images",
        f"  Its job:    curl {api}/books/{book_id}/jobs",
        f"  The result: (its s3_key is in curl {api}/books/{book_id})",
        f"    curl {signed} -o result.png {result}",
        f"  Logs:       {log_dir}",
        READY_LINE,
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
