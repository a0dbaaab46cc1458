"""Without credentials, every Flower route answers 401: the API, /metrics and /healthcheck too."""

from __future__ import annotations

import os
import re
import subprocess

import httpx
import pytest
from flower.urls import handlers

from tests import servers
from tests.worker.flower.fleet import Fleet

pytestmark = pytest.mark.slow


def _sample_path(pattern: str) -> str:
    """A concrete path for one of Flower's route patterns."""
    path = re.sub(r"\(\.[+*]\)", "sample", pattern)
    return "/" if path == ".*" else path.rstrip("?").replace("/?", "/")


def _flower_paths() -> list[str]:
    patterns = [h.regex.pattern.rstrip("$") if hasattr(h, "regex") else h[0] for h in handlers]
    paths = {_sample_path(pattern) for pattern in patterns}
    # Flower's own assets and a route it does not have at all.
    return sorted(paths | {"/static/css/flower.css", "/no-such-route", "/tasks/datatable"})


def test_every_route_demands_credentials(fleet: Fleet) -> None:
    paths = _flower_paths()
    assert {"/metrics", "/healthcheck", "/api/workers", "/api/tasks"} <= set(paths)
    answers: dict[tuple[str, str], int] = {}
    for path in paths:
        url = f"{fleet.flower_url}{path}"
        answers["GET", path] = httpx.get(url, timeout=10).status_code
        answers["POST", path] = httpx.post(url, timeout=10).status_code
        wrong = httpx.get(url, auth=("operator", "wrong-password"), timeout=10)
        answers["GET wrong password", path] = wrong.status_code
    not_refused = {key: status for key, status in answers.items() if status != 401}
    assert not_refused == {}


def test_a_browser_is_asked_for_basic_auth_and_the_credentials_open_the_dashboard(
    fleet: Fleet,
) -> None:
    refused = httpx.get(f"{fleet.flower_url}/", timeout=10)
    assert refused.headers["WWW-Authenticate"].startswith("Basic ")
    for path in ("/", "/metrics", "/healthcheck", "/api/workers"):
        assert fleet.flower_get(path).status_code == 200, path


def _container_health_check(fleet: Fleet, basic_auth: str) -> subprocess.CompletedProcess:
    """`python -m worker.monitoring.flower_healthcheck` with Flower's own environment."""
    return subprocess.run(
        [str(servers.VENV_BIN / "python"), "-m", "worker.monitoring.flower_healthcheck"],
        env={**os.environ, **fleet.env, "FLOWER_BASIC_AUTH": basic_auth},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_container_health_check_passes_with_flowers_own_credentials(fleet: Fleet) -> None:
    passed = _container_health_check(fleet, ":".join(fleet.credentials))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.strip() == "healthy: OK"
    refused = _container_health_check(fleet, "operator:not-the-password")
    assert (refused.returncode, refused.stdout.strip()) == (1, "unhealthy: HTTP 401")
    # ...while the route itself stays closed to anyone without them.
    assert fleet.flower_get("/healthcheck", auth=False).status_code == 401
