"""A worker container that cannot work fails every one of its health checks: with its
models not loaded, and with its polling stopped; one that polls through an SQS outage passes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from app.settings import Settings
from devtools import podman
from devtools.ecs_local import LocalAccount, run_task
from tests import servers
from tests.containers import healthchecks
from tests.containers.conftest import EVENTS_BUS_URL
from tests.servers import wait_until
from tests.worker.flower.fleet import client_app
from worker.healthcheck import STALE_AFTER_S
from worker.models.provisioning import fetch_model
from worker.models.registry import get_spec

pytestmark = pytest.mark.container

# WORKER_POLL_STALE_SECONDS, 60 in production: above the 20 s a live loop may be quiet.
POLL_STALE_S = 25


def _own_account(aws_endpoint: str) -> LocalAccount:
    """Its own queue, bucket and secrets: a broken worker takes none of the fleet's jobs.
    The worker starts without its database (only a task would open it)."""
    account = LocalAccount(
        aws_endpoint=aws_endpoint, database_name="unused", events_broker_url=EVENTS_BUS_URL
    )
    account.provision()
    return account


def _worker_checks(account: LocalAccount, image: str) -> list[healthchecks.HealthCheck]:
    return [
        healthchecks.ecs(account, "worker", image),
        healthchecks.compose("worker"),
        healthchecks.dockerfile(image),
    ]


def _parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _pool_processes(worker: podman.Container) -> list[int]:
    """The host PIDs of the worker's pool processes: the children of Celery's main process,
    itself the child of the container's init."""
    parents = {pid: _parent_pid(pid) for pid in worker.host_pids()}
    (init,) = [pid for pid, parent in parents.items() if parent not in parents]
    (main,) = [pid for pid, parent in parents.items() if parent == init]
    return [pid for pid, parent in parents.items() if parent == main]


def _damage(path: Path) -> None:
    """The same size, other bytes, a later mtime: a file replaced under a running worker."""
    with path.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\0" * 16)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_worker_whose_models_did_not_load_is_unhealthy(
    images: dict[str, str], aws_endpoint: str, containers: list[podman.Container], tmp_path: Path
) -> None:
    """A pool process whose model loading raises is only logged by Celery, which then hands it
    tasks. Here the model file changes under a running worker and a pool process is replaced:
    the new process finds the file no longer the one the main process hashed, hashes it again
    and refuses it."""
    spec = get_spec("u2netp")  # the small one: 4.6 MB to copy
    home = tmp_path / "models"
    home.mkdir()
    provisioned = fetch_model(spec, Settings().u2net_home, allow_download=False)
    shutil.copyfile(provisioned.path, home / spec.filename)
    (home / spec.filename).chmod(0o644)
    home.chmod(0o755)
    account = _own_account(aws_endpoint)
    worker = run_task(
        account,
        "worker",
        image=images["runtime"],
        name=f"image-processor-{account.tag}-worker-no-models",
        env={"MODEL_CHAIN": spec.name, "U2NET_HOME": "/models"},
        volumes=[f"{home}:/models:ro"],
    )
    containers.append(worker)
    worker.wait_for_log(" ready.", timeout=300)
    checks = _worker_checks(account, images["runtime"])
    assert healthchecks.wait_for_checks(checks, worker, passing=True, timeout=120) == {}

    _damage(home / spec.filename)
    os.kill(_pool_processes(worker)[0], signal.SIGKILL)  # Celery starts a replacement
    worker.wait_for_log("Signal handler", timeout=120)  # Celery's: it logs and carries on
    assert healthchecks.passes(checks, worker) == {}
    result = checks[0].run(worker)
    assert "models not loaded in 1 pool process(es)" in result.output, result.output
    assert f"model '{spec.name}' is corrupt" in result.output, result.output


def test_a_worker_polling_through_an_sqs_outage_is_healthy_and_one_that_stops_is_not(
    images: dict[str, str],
    containers: list[podman.Container],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The outage is not the worker's fault, and a new worker would meet it too: it polls on,
    counts the failures and stays healthy. A consumer that stops polling is unhealthy within
    two minutes though its process lives on."""
    with servers.moto_server(tmp_path / "moto.log") as endpoint:
        own = _own_account(endpoint)
        worker = run_task(
            own,
            "worker",
            image=images["runtime"],
            name=f"image-processor-{own.tag}-worker",
            env={"WORKER_POLL_STALE_SECONDS": str(POLL_STALE_S)},
        )
        containers.append(worker)
        worker.wait_for_log(" ready.", timeout=300)
        checks = _worker_checks(own, images["runtime"])
        assert healthchecks.wait_for_checks(checks, worker, passing=True, timeout=120) == {}
        # Remote control over the events bus, built while SQS answers (the app resolves its
        # queue once).
        for name, value in own.setup_environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("EVENTS_BROKER_URL", EVENTS_BUS_URL)
        control = client_app().control
    # moto_server, the worker's SQS, is gone.
    wait_until(
        lambda: "failed SQS receive(s)" in checks[0].run(worker).output,
        timeout=90,
        what="the health check to report the failed receives",
        interval=2,
    )
    time.sleep(POLL_STALE_S + STALE_AFTER_S)  # longer than a stopped loop would stay healthy
    assert healthchecks.failures(checks, worker) == {}
    assert worker.running()

    (name,) = re.findall(r"([\w.-]+@[\w.-]+) ready\.", worker.logs())
    replies = control.cancel_consumer(own.queue_name, destination=[name], reply=True, timeout=5)
    assert replies, "the worker did not answer cancel_consumer over the events bus"
    assert healthchecks.wait_for_checks(checks, worker, passing=False, timeout=120) == {}
    assert worker.running()  # the process lives on; only the check can tell
