"""`make up`: the embedded stack runs until Ctrl-C, answers where it says it does, and Ctrl-C
stops every process it started.

The command is the Makefile's own `up` recipe (its prerequisites, install and warmup, are what
`make test` has already done), run as a terminal would run it, against a fresh Postgres
database and the Redis on 127.0.0.1:6379 that Flower's events bus needs.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from PIL import Image

from devtools.embedded_stack.up import READY_LINE
from tests import servers
from tests.conftest import REPO_ROOT
from tests.corpus import book_photo

pytestmark = [pytest.mark.model, pytest.mark.slow]

READY_TIMEOUT_S = 600  # photos generated, models loaded and six photos processed on 2 cores
STOP_TIMEOUT_S = 120


def make_up_command() -> list[str]:
    """The recipe of the Makefile's `up` target, $(BIN) being this venv's bin/."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = re.search(r"^up:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe, "the Makefile has no `up` target"
    return shlex.split(recipe.group(1).replace("$(BIN)", str(servers.VENV_BIN)))


class Output:
    """Everything the command prints, read on a thread so its pipe never fills."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == READY_LINE:
                self.ready.set()

    def text(self) -> str:
        return "\n".join(self.lines)

    def value(self, pattern: str) -> re.Match[str]:
        found = re.search(pattern, self.text(), re.MULTILINE)
        assert found, f"{pattern!r} not in what `make up` printed:\n{self.text()}"
        return found


@pytest.fixture
def make_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    """`make up`'s command, with its own out/ folder; stopped by PID whatever the test does."""
    with servers.postgres_database() as database_url:
        process = subprocess.Popen(
            [*make_up_command(), "--out", str(tmp_path)],  # the last --out wins
            cwd=REPO_ROOT,
            env={**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield process, Output(process)
        finally:
            leftovers = _descendants(process.pid)
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
            for child in leftovers:  # only after a failed test: the stack left behind
                child.kill()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _upload_and_wait(upload_url: str, jobs_url: str) -> dict:
    photo = io.BytesIO()
    book_photo().save(photo, format="JPEG", quality=90)
    response = httpx.post(
        upload_url,
        files={"file": ("your-photo.jpg", photo.getvalue(), "image/jpeg")},
        data={"is_primary": "true"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["job"]["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs = {job["id"]: job for job in httpx.get(jobs_url, timeout=10).json()["items"]}
        if jobs[job_id]["status"] in ("completed", "failed"):
            return jobs[job_id]
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} of the uploaded photo did not finish")


def _fetch_result(output: Output, book_url: str, job: dict) -> bytes:
    """The printed curl line for a result, its <s3_key> filled in, signed as curl signs it."""
    line = output.value(r"curl --aws-sigv4 aws:amz:(\S+):s3 --user (\S+):(\S+) -o \S+ (\S+)")
    region, key_id, secret, template = line.groups()
    images = httpx.get(book_url, timeout=10).json()["images"]
    (key,) = [image["s3_key"] for image in images if image["id"] == job["result_image_id"]]
    request = AWSRequest(method="GET", url=template.replace("<s3_key>", key))
    S3SigV4Auth(Credentials(key_id, secret), "s3", region).add_auth(request)
    response = httpx.get(request.url, headers=dict(request.headers.items()), timeout=10)
    assert response.status_code == 200, response.text
    return response.content


def test_make_up_serves_until_ctrl_c_then_stops_every_process_it_started(make_up) -> None:
    process, output = make_up
    assert output.ready.wait(READY_TIMEOUT_S), f"no ready line:\n{output.text()}"
    started = _descendants(process.pid)
    commands = " ".join(" ".join(child.cmdline()) for child in started)
    for service in ("moto_server", "worker.celery_app worker", "beat", "uvicorn", "worker.flower"):
        assert service in commands, f"{service} not running: {commands}"

    docs = httpx.get(output.value(r"API docs:\s+(\S+)").group(1), timeout=10)
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    flower = output.value(r"Flower:\s+(\S+)\s+\(user (\S+), password (\S+)\)")
    assert httpx.get(flower.group(1), timeout=10).status_code == 401
    signed_in = httpx.get(flower.group(1), auth=(flower.group(2), flower.group(3)), timeout=10)
    assert signed_in.status_code == 200
    upload_url = output.value(r"curl -F file=@your-photo\.jpg -F is_primary=true (\S+)")
    job = _upload_and_wait(upload_url.group(1), output.value(r"Its job:\s+curl (\S+)").group(1))
    assert job["status"] == "completed", job
    book_url = output.value(r"The result: \(its s3_key is in curl (\S+)\)").group(1)
    with Image.open(io.BytesIO(_fetch_result(output, book_url, job))) as result:
        assert result.format == "PNG"

    process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends it
    assert process.wait(timeout=STOP_TIMEOUT_S) == 0, output.text()
    gone, alive = psutil.wait_procs(started, timeout=10)
    assert alive == [], [" ".join(child.cmdline()) for child in alive]
    assert len(gone) == len(started)
