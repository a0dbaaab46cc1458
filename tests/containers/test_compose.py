"""The README's docker-compose quick start, run as written, against podman's Docker API.

The stack's third-party images are the local stand-ins .ci/standin-images builds under the
names docker-compose.yml uses. The quick start runs in a copy of the repository, so its
`.env`, samples and `result.png` never land in the work tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from devtools import podman
from tests import servers
from tests.containers.conftest import REPO_ROOT

pytestmark = pytest.mark.container

PROJECT = "image-processor"  # docker-compose.yml's `name`


def quick_start_lines() -> str:
    """The first shell block of README "Quick start with docker compose"."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Quick start with docker compose", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)


def _repository_copy(target: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in files)):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target / name)
    # The venv `make` would otherwise build again: the project's own, already installed.
    (target / ".venv").symlink_to(REPO_ROOT / ".venv")
    return target


def _run_health_checks(stop: threading.Event) -> None:
    """What the Docker engine does on its own and podman does only with systemd timers:
    run each container's health check every few seconds, so `--wait` and
    `depends_on: condition: service_healthy` see the status change."""
    while not stop.wait(3):
        names = podman.podman(
            "ps", "--filter", f"label=com.docker.compose.project={PROJECT}",
            "--format", "{{.Names}}", check=False,
        ).stdout.split()  # fmt: skip
        for name in names:
            podman.podman("healthcheck", "run", name, check=False, timeout=60)


@pytest.fixture
def docker_api(tmp_path: Path, images: dict[str, str]) -> Iterator[dict[str, str]]:
    """podman's Docker-compatible API on a socket of this test, and a `docker compose` that
    is the pinned docker-compose, as a CLI plugin of the docker client."""
    socket = tmp_path / "podman.sock"
    service = servers.start_process(
        ["podman", "system", "service", "--time=0", f"unix://{socket}"],
        log_path=tmp_path / "podman-service.log",
    )
    plugins = tmp_path / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(servers.VENV_BIN / "docker-compose")
    env = {
        "DOCKER_HOST": f"unix://{socket}",
        "DOCKER_CONFIG": str(plugins.parent),
        # The one build argument that differs from production: the stand-in base.
        "PYTHON_IMAGE": podman.BASE_IMAGE,
    }
    stop = threading.Event()
    health = threading.Thread(target=_run_health_checks, args=(stop,), daemon=True)
    try:
        deadline = time.monotonic() + 30
        while not socket.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert socket.exists(), (tmp_path / "podman-service.log").read_text()
        health.start()
        yield env
    finally:
        stop.set()
        subprocess.run(
            ["docker", "compose", "-p", PROJECT, "down", "-v", "--remove-orphans"],
            env={**os.environ, **env},
            capture_output=True,
            timeout=300,
            check=False,
        )
        servers.stop_process(service)
        if health.is_alive():
            health.join(timeout=60)


def test_the_readme_quick_start_processes_a_photo_on_the_compose_stack(
    docker_api: dict[str, str], tmp_path: Path
) -> None:
    for port in (8000, 5000, 5555):
        assert not servers.port_open(port), f"port {port} is taken: the stack publishes it"
    workdir = _repository_copy(tmp_path / "checkout")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", quick_start_lines()],
        cwd=workdir,
        env={**os.environ, **docker_api},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-6000:]
    with Image.open(workdir / "result.png") as png:
        assert png.format == "PNG"
        assert png.mode in ("RGB", "RGBA")
    # What the quick start printed: the completed job, with the model that won.
    assert '"status": "completed"' in result.stdout, result.stdout[-4000:]
    assert '"model_used": "u2net' in result.stdout, result.stdout[-4000:]
