"""`make bench-image`: the images' sizes and the worker container's cold start, one JSON line.

Sizes: each image uncompressed (as podman stores it), and compressed as a registry stores
it (the gzip layer blobs `podman push --compress` writes). The five largest Python
distributions in the worker image, with the distributions that require each.

Cold start of a worker container run as ECS runs it (devtools/ecs_local.py), with a job
already waiting on the queue: from the container's start (its init process) to ready
(Celery's "ready." and both pool processes' models loaded), and to its first job completed.
The same from the `podman run` call, reported apart: with the vfs storage driver podman
copies the whole image before the process starts, a cost of this sandbox, not of Fargate.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import psycopg

from devtools import podman
from devtools.ecs_local import LocalAccount, run_task
from devtools.embedded_stack.processes import Supervisor, free_port
from devtools.synthetic_photos.catalog import demo_set
from devtools.synthetic_photos.scene import render

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
EVENTS_BUS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379") + "/8"
MB = 1_000_000

LARGEST_PACKAGES = """
import collections, importlib.metadata as md, json, re
sizes, users = {}, collections.defaultdict(set)
normal = lambda name: re.sub(r"[-_.]+", "-", name).lower()
for dist in md.distributions():
    name = dist.metadata["Name"]
    sizes[name] = sum(f.size or 0 for f in dist.files or [])
    for requirement in dist.requires or []:
        extra = re.search(r"extra\\s*==\\s*['\\"]([^'\\"]+)", requirement)
        required = normal(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
        if not extra:
            users[required].add(name)
        elif name == "image-processor":  # our own extras are installed; others' may not be
            users[required].add(f"{name}[{extra.group(1)}]")
top = sorted(sizes.items(), key=lambda item: -item[1])[:5]
print(json.dumps([{"package": n, "mb": round(s / 1e6, 1), "required_by": sorted(users[normal(n)])}
                  for n, s in top]))
"""


def image_mb(image: str) -> float:
    return int(podman.podman("image", "inspect", "--format", "{{.Size}}", image).stdout) / MB


def compressed_mb(image: str) -> float:
    """The sum of the gzip-compressed layers (and config), as a registry would store them."""
    target = Path(tempfile.mkdtemp(prefix="image-blobs-"))
    try:
        podman.podman(
            "push", "--quiet", "--compress", "--format", "v2s2", image, f"dir:{target}",
            timeout=900,
        )  # fmt: skip
        return sum(path.stat().st_size for path in target.iterdir()) / MB
    finally:
        shutil.rmtree(target)


def largest_packages(image: str) -> list[dict]:
    result = podman.run_once(image, ["python", "-c", LARGEST_PACKAGES])
    if not result.passed:
        raise podman.ContainerError(result.output)
    return json.loads(result.output.strip().splitlines()[-1])


def _timestamps(container: podman.Container) -> list[tuple[float, str]]:
    logs = podman.podman("logs", "--timestamps", container.name)
    lines = []
    for line in (logs.stdout + logs.stderr).splitlines():
        stamp, _, text = line.partition(" ")
        try:
            lines.append((_epoch(stamp), text))
        except ValueError:
            continue
    return sorted(lines)


def _epoch(stamp: str) -> float:
    """RFC 3339 with nanoseconds, as podman writes it."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    zone = "+00:00"
    if "+" in fraction or "-" in fraction[1:]:
        sign = "+" if "+" in fraction else "-"
        fraction, _, offset = fraction.partition(sign)
        zone = sign + offset
    seconds = datetime.fromisoformat(whole + zone).timestamp()
    return seconds + float(f"0.{fraction or '0'}")


def _wait_for(container: podman.Container, needle: str, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = [stamp for stamp, text in _timestamps(container) if needle in text]
        if len(hits) >= count:
            return hits[count - 1]
        if not container.running():
            raise podman.ContainerError(f"{container.name} exited:\n{container.logs()[-3000:]}")
        time.sleep(0.5)
    raise TimeoutError(f"{container.name} did not log {needle!r} x{count} in {timeout} s")


def cold_start(account: LocalAccount, runtime_image: str, api_image: str) -> dict:
    prefix = f"image-processor-{account.tag}"
    started: list[podman.Container] = []
    try:
        migrate = run_task(account, "api", image=api_image, name=f"{prefix}-migrate",
                           command=["migrate"])  # fmt: skip
        started.append(migrate)
        if migrate.wait_for_exit(timeout=300) != 0:
            raise podman.ContainerError(migrate.logs())
        api = run_task(account, "api", image=api_image, name=f"{prefix}-api")
        started.append(api)
        api.wait_for_log("Application startup complete", timeout=120)
        headers = {"X-API-Key": account.api_key}
        with httpx.Client(base_url="http://127.0.0.1:8000", headers=headers, timeout=30) as http:
            book = http.post("/books", json={"title": "cold start"}).json()["id"]
            photo = render(demo_set()[0]).jpeg
            http.post(f"/books/{book}/images", files={"file": ("c.jpg", photo, "image/jpeg")},
                      data={"is_primary": "true"}).raise_for_status()  # fmt: skip
        run_called = time.time()
        worker = run_task(account, "worker", image=runtime_image, name=f"{prefix}-worker")
        started.append(worker)
        process_start = _epoch(worker.state()["StartedAt"].replace(" ", "T", 1).split(" ")[0])
        ready = max(
            _wait_for(worker, " ready.", 1, 300), _wait_for(worker, "loaded models", 2, 300)
        )
        first_job = _wait_for(worker, "succeeded in", 1, 300)
        return {
            "worker_ready_s": round(ready - process_start, 2),
            "worker_first_job_s": round(first_job - process_start, 2),
            "worker_first_log_line_to_ready_s": round(ready - _timestamps(worker)[0][0], 2),
            "podman_run_to_ready_s": round(ready - run_called, 2),
            "podman_run_to_first_job_s": round(first_job - run_called, 2),
        }
    finally:
        podman.remove_all(started)


def main() -> int:
    runtime_image, api_image = podman.RUNTIME_IMAGE, podman.API_IMAGE
    base_image = os.environ["IMAGE_PROCESSOR_BASE_IMAGE"]
    figures: dict = {
        "base_image_mb": round(image_mb(base_image), 1),
        "worker_image_mb": round(image_mb(runtime_image), 1),
        "api_image_mb": round(image_mb(api_image), 1),
    }
    figures["api_over_base_mb"] = round(figures["api_image_mb"] - figures["base_image_mb"], 1)
    figures["worker_image_compressed_mb"] = round(compressed_mb(runtime_image), 1)
    figures["api_image_compressed_mb"] = round(compressed_mb(api_image), 1)
    figures["largest_packages"] = largest_packages(runtime_image)

    port = free_port()
    supervisor = Supervisor(log_dir=Path(tempfile.mkdtemp(prefix="bench-image-")), env={})
    database = f"bench_image_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        supervisor.start("moto", [str(Path(sys.executable).parent / "moto_server"),
                                  "-H", "127.0.0.1", "-p", str(port)])  # fmt: skip
        supervisor.wait_for_port("moto", port)
        account = LocalAccount(
            aws_endpoint=f"http://127.0.0.1:{port}",
            database_name=database,
            events_broker_url=EVENTS_BUS_URL,
        )
        account.provision()
        figures.update(cold_start(account, runtime_image, api_image))
    finally:
        supervisor.stop_all()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    figures["machine"] = f"{os.cpu_count()} cores, {platform.machine()}, podman vfs"
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
