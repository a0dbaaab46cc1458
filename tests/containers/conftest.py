"""The images, run as ECS and compose run them: fixtures for tests/containers/.

These tests need the images `.ci/build-images` makes (`make test-containers` builds them
first) and podman from `.ci/container-toolchain`. Without either they fail, never skip:
on CI a missing toolchain is a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devtools import podman
from devtools.ecs_local import LocalAccount
from tests import servers

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_BUS_URL = f"{servers.REDIS_URL}/7"


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """The two images of the Dockerfile, by target."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run .ci/container-toolchain")
    found = {}
    for target, image in (("runtime", podman.RUNTIME_IMAGE), ("api", podman.API_IMAGE)):
        if podman.podman("image", "exists", image, check=False).returncode != 0:
            pytest.fail(f"image {image} is missing: run .ci/build-images")
        found[target] = image
    return found


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with servers.moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture(scope="session")
def database_name() -> Iterator[str]:
    with servers.postgres_database() as url:
        yield url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def account(aws_endpoint: str, database_name: str) -> LocalAccount:
    """Secrets, queue + DLQ and bucket on moto; the database; the events bus."""
    created = LocalAccount(
        aws_endpoint=aws_endpoint, database_name=database_name, events_broker_url=EVENTS_BUS_URL
    )
    created.provision()
    return created


@pytest.fixture
def containers() -> Iterator[list[podman.Container]]:
    """Every container a test starts goes in here and is removed after it."""
    started: list[podman.Container] = []
    yield started
    podman.remove_all(started)


def compose_services() -> dict:
    """docker-compose.yml's services, anchors and merge keys resolved."""
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
