"""The five process types run from the images as ECS runs them, a photo goes through them,
and every health check passes on a healthy container and fails on a broken one.

The tests of this module share one fleet and run in file order: the last ones break it.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from PIL import Image

from app.settings import Settings
from deploy import render as task_definition
from devtools import podman
from devtools.ecs_local import LocalAccount, run_task
from devtools.synthetic_photos.catalog import demo_set
from devtools.synthetic_photos.scene import render
from tests import servers
from tests.containers import healthchecks
from tests.servers import wait_until

pytestmark = pytest.mark.container

API_URL = "http://127.0.0.1:8000"
FLOWER_URL = "http://127.0.0.1:5555"


@dataclass
class Fleet:
    account: LocalAccount
    images: dict[str, str]
    containers: dict[str, podman.Container]

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=API_URL, headers={"X-API-Key": self.account.api_key}, timeout=30
        )

    def flower_get(self, path: str) -> httpx.Response:
        user, password = self.account.flower_user_password.split(":", 1)
        return httpx.get(f"{FLOWER_URL}{path}", auth=(user, password), timeout=10)

    def checks(self, service: str) -> list[healthchecks.HealthCheck]:
        """The checks ECS, compose and the image itself run for the service."""
        image = self.images["api" if service == "api" else "runtime"]
        return [
            healthchecks.ecs(self.account, service, image),
            healthchecks.compose(service),
            healthchecks.dockerfile(image),
        ]


@pytest.fixture(scope="module")
def fleet(images: dict[str, str], account: LocalAccount) -> Iterator[Fleet]:
    for port in (8000, 5555):
        assert not servers.port_open(port), f"port {port} is taken: the containers need it"
    started: dict[str, podman.Container] = {}
    prefix = f"image-processor-{account.tag}"
    try:
        # The deploy workflow's one-off migration task: the api task definition, `migrate`.
        migrate = run_task(
            account, "api", image=images["api"], name=f"{prefix}-migrate", command=["migrate"]
        )
        started["migrate"] = migrate
        assert migrate.wait_for_exit(timeout=300) == 0, migrate.logs()
        started["api"] = run_task(account, "api", image=images["api"], name=f"{prefix}-api")
        for service in ("worker", "beat", "flower"):
            started[service] = run_task(
                account, service, image=images["runtime"], name=f"{prefix}-{service}"
            )
        started["worker"].wait_for_log(" ready.", timeout=300)
        started["beat"].wait_for_log("beat: Starting...", timeout=120)
        fleet = Fleet(account, images, started)
        for service in ("api", "worker", "beat", "flower"):  # as a start period would
            failing = healthchecks.wait_for_checks(
                fleet.checks(service), started[service], passing=True, timeout=180
            )
            assert failing == {}, (failing, started[service].logs()[-3000:])
        yield fleet
    finally:
        podman.remove_all(list(started.values()))


def _photo() -> bytes:
    return render(demo_set()[0]).jpeg  # a light cover on dark wood, 1.5 MP


def _job_row(account: LocalAccount, job_id: str) -> dict[str, Any]:
    url = f"{servers.POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{account.database_name}"
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as connection:
        row = connection.execute(
            "SELECT * FROM image_processing_jobs WHERE id = %s", (job_id,)
        ).fetchone()
    assert row is not None
    return row


def _upload_and_wait(api: httpx.Client) -> tuple[str, int, list[dict[str, Any]]]:
    """Create a book, upload a photo of it, wait for its job to end: the job's id, the
    uploaded image's id, and the book's images once the job completed."""
    book = api.post("/books", json={"title": "Dune"})
    assert book.status_code == 201, book.text
    book_id = book.json()["id"]
    uploaded = api.post(
        f"/books/{book_id}/images",
        files={"file": ("cover.jpg", _photo(), "image/jpeg")},
        data={"is_primary": "true"},
    )
    assert uploaded.status_code == 201, uploaded.text
    job_id = uploaded.json()["job"]["id"]
    job = wait_until(
        lambda: (j := api.get(f"/jobs/{job_id}").json())["status"] in ("completed", "failed") and j,
        timeout=180,
        what=f"job {job_id} ends",
    )
    assert job["status"] == "completed", job
    book_images = api.get(f"/books/{book_id}").json()["images"]
    return job_id, uploaded.json()["image"]["id"], book_images


def _assert_flower_saw(fleet: Fleet, job_id: str) -> None:
    """Flower (containerised) lists the worker and the task, from the events bus."""
    try:
        workers = wait_until(
            # refresh=1: Flower asks the workers over the bus now. Without it, /api/workers
            # holds what Flower's start-up inspect found, empty when the worker came up later.
            lambda: fleet.flower_get("/api/workers?refresh=1").json(),
            timeout=60,
            what="Flower lists a worker",
        )
    except TimeoutError as error:
        log = fleet.containers["flower"].logs()
        raise AssertionError(f"{error}; Flower's log:\n{log}") from error
    assert any(name.startswith("celery@") for name in workers), workers
    tasks = wait_until(
        lambda: {
            task_id: task
            for task_id, task in fleet.flower_get("/api/tasks").json().items()
            if task["name"] == "worker.tasks.process_image" and task["state"] == "SUCCESS"
        },
        timeout=60,
        what="Flower lists the succeeded task",
    )
    assert any(job_id in str(task["args"]) for task in tasks.values()), tasks


def test_a_photo_uploaded_to_the_api_is_processed_by_the_worker_and_seen_in_flower(
    fleet: Fleet,
) -> None:
    with fleet.api() as api:
        job_id, source_image_id, book_images = _upload_and_wait(api)

    # Postgres holds the outcome the worker recorded...
    row = _job_row(fleet.account, job_id)
    assert row["status"] == "completed"
    assert row["model_used"] in ("u2net", "u2netp")
    assert row["background_color"] in ("black", "white")
    # ...and the bucket the processed PNG, under the prefix, at the key the result row names.
    (result,) = [image for image in book_images if image["id"] == row["result_image_id"]]
    assert result["source_image_id"] == source_image_id
    body = (
        fleet.account.client("s3")
        .get_object(Bucket=fleet.account.bucket, Key=f"books/{result['s3_key']}")["Body"]
        .read()
    )
    with Image.open(io.BytesIO(body)) as png:
        assert png.format == "PNG"
        assert png.size == Image.open(io.BytesIO(_photo())).size

    _assert_flower_saw(fleet, job_id)


def test_the_worker_loaded_its_models_in_every_pool_process(fleet: Fleet) -> None:
    """Celery only logs a pool process whose models failed to load; none may have. As many
    processes as the task definition's WORKER_CONCURRENCY (3 on the 2 vCPU task)."""
    log = fleet.containers["worker"].logs()
    assert "Signal handler" not in log, log[-3000:]
    chain = ", ".join(Settings().model_chain)  # the task definition's MODEL_CHAIN is the default
    processes = int(
        task_definition.derived_values(task_definition.load_template("worker"))[
            "worker_concurrency"
        ]
    )
    assert processes == 3
    assert log.count(f"loaded models {chain}") == processes, log[-3000:]


@pytest.mark.parametrize("service", ["api", "worker", "beat", "flower"])
def test_every_health_check_passes_on_a_healthy_container(fleet: Fleet, service: str) -> None:
    checks = fleet.checks(service)
    assert healthchecks.failures(checks, fleet.containers[service]) == {}


def test_flower_stays_closed_without_credentials(fleet: Fleet) -> None:
    for path in ("/", "/workers", "/api/workers", "/api/tasks", "/metrics", "/healthcheck"):
        assert httpx.get(f"{FLOWER_URL}{path}", timeout=10).status_code == 401, path
    assert fleet.flower_get("/metrics").status_code == 200


def _signal_all(container: podman.Container, signum: int) -> None:
    """Every process of the container but its init (PID 1 inside: podman's catatonit)."""
    for pid in container.host_pids()[1:]:
        os.kill(pid, signum)


def test_a_frozen_flower_fails_its_health_checks(fleet: Fleet) -> None:
    flower = fleet.containers["flower"]
    _signal_all(flower, signal.SIGSTOP)
    try:
        assert healthchecks.passes(fleet.checks("flower"), flower) == {}
    finally:
        _signal_all(flower, signal.SIGCONT)
    assert healthchecks.failures(fleet.checks("flower"), flower) == {}


def test_a_beat_stuck_for_ten_minutes_fails_its_health_checks(fleet: Fleet) -> None:
    beat = fleet.containers["beat"]
    _signal_all(beat, signal.SIGSTOP)
    try:
        # What ten minutes without a tick leave behind: a schedule file not written since.
        aged = beat.exec(["sh", "-c", "touch -d '-11 minutes' /tmp/celerybeat-schedule*"])
        assert aged.passed, aged.output
        assert healthchecks.passes(fleet.checks("beat"), beat) == {}
    finally:
        _signal_all(beat, signal.SIGCONT)


def test_the_api_with_its_database_gone_is_alive_and_not_ready(fleet: Fleet) -> None:
    """The container check is liveness: a database outage must not have ECS replace every API
    task. Readiness, the load balancer's check, says 503; a frozen API fails its check."""
    api = fleet.containers["api"]
    with psycopg.connect(servers.POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{fleet.account.database_name}" WITH (FORCE)')
    assert healthchecks.failures(fleet.checks("api"), api) == {}
    assert httpx.get(f"{API_URL}/health/ready", timeout=30).status_code == 503
    _signal_all(api, signal.SIGSTOP)
    try:
        assert healthchecks.passes(fleet.checks("api"), api) == {}
    finally:
        _signal_all(api, signal.SIGCONT)
