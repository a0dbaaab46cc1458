"""A worker container that cannot work fails every one of its health checks: with its
models not loaded, and with its broker gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import podman
from devtools.ecs_local import LocalAccount, run_task
from tests import servers
from tests.containers import healthchecks
from tests.containers.conftest import EVENTS_BUS_URL

pytestmark = pytest.mark.container


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


def test_a_worker_whose_models_did_not_load_is_unhealthy(
    images: dict[str, str], aws_endpoint: str, containers: list[podman.Container], tmp_path: Path
) -> None:
    """The defect the first image build showed: a numba cache folder uid 10001 cannot write
    makes every pool process's model loading raise, which Celery only logs."""
    cache = tmp_path / "numba"
    cache.mkdir()
    (cache / ".seeded").touch()  # the entrypoint leaves a seeded cache as it is
    cache.chmod(0o555)
    account = _own_account(aws_endpoint)
    worker = run_task(
        account,
        "worker",
        image=images["runtime"],
        name=f"image-processor-{account.tag}-worker-no-models",
        volumes=[f"{cache}:/tmp/numba:ro"],
    )
    containers.append(worker)
    worker.wait_for_log(" ready.", timeout=300)
    worker.wait_for_log("Signal handler", timeout=60)  # Celery's: it logs and carries on
    checks = _worker_checks(account, images["runtime"])
    assert healthchecks.passes(checks, worker) == {}
    result = checks[0].run(worker)
    assert "models not loaded in 2 pool process(es)" in result.output, result.output


def test_a_worker_whose_broker_is_gone_is_unhealthy(
    images: dict[str, str], containers: list[podman.Container], tmp_path: Path
) -> None:
    with servers.moto_server(tmp_path / "moto.log") as endpoint:
        own = _own_account(endpoint)
        worker = run_task(
            own, "worker", image=images["runtime"], name=f"image-processor-{own.tag}-worker"
        )
        containers.append(worker)
        worker.wait_for_log(" ready.", timeout=300)
        checks = _worker_checks(own, images["runtime"])
        assert healthchecks.wait_for_checks(checks, worker, passing=True, timeout=120) == {}
    # moto_server, the worker's SQS, is stopped: the consumer loses its broker.
    assert healthchecks.wait_for_checks(checks, worker, passing=False, timeout=90) == {}
    assert worker.running()  # the process lives on; only the check can tell
