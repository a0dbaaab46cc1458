"""Every health check of a process type, from each place it is written, run as its
orchestrator runs it: inside the running container, with the definition's time-out."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from devtools import podman
from devtools.ecs_local import LocalAccount
from tests.containers.conftest import compose_services


@dataclass(frozen=True)
class HealthCheck:
    source: str
    test: tuple[str, ...]  # ("CMD", argv...) or ("CMD-SHELL", "a shell line")
    timeout_s: float

    def run(self, container: podman.Container) -> podman.ExecResult:
        kind, *rest = self.test
        argv = rest if kind == "CMD" else ["/bin/sh", "-c", rest[0]]
        return container.exec(argv, timeout=self.timeout_s)


def dockerfile(image: str) -> HealthCheck:
    config = podman.image_config(image)["Healthcheck"]
    return HealthCheck(f"HEALTHCHECK of {image}", tuple(config["Test"]), config["Timeout"] / 1e9)


def ecs(account: LocalAccount, service: str, image: str) -> HealthCheck:
    check = account.container_definition(service, image)["healthCheck"]
    return HealthCheck(f"deploy/ecs/{service}.json", tuple(check["command"]), check["timeout"])


def compose(service: str) -> HealthCheck:
    check = compose_services()[service]["healthcheck"]
    seconds = float(re.fullmatch(r"(\d+)s", check["timeout"]).group(1))
    return HealthCheck(f"docker-compose.yml {service}", tuple(check["test"]), seconds)


def failures(checks: list[HealthCheck], container: podman.Container) -> dict[str, str]:
    """The checks that did not pass, with what they printed."""
    results = {check.source: check.run(container) for check in checks}
    return {source: result.output for source, result in results.items() if not result.passed}


def passes(checks: list[HealthCheck], container: podman.Container) -> dict[str, str]:
    """The checks that passed (for asserting that a broken container fails every one)."""
    results = {check.source: check.run(container) for check in checks}
    return {source: result.output for source, result in results.items() if result.passed}


def wait_for_checks(
    checks: list[HealthCheck], container: podman.Container, *, passing: bool, timeout: float
) -> dict[str, str]:
    """Poll until every check passes (what a start period is for), or until none does;
    returns the checks still on the wrong side, with what they printed."""
    wrong_side = failures if passing else passes
    deadline = time.monotonic() + timeout
    left = wrong_side(checks, container)
    while left and time.monotonic() < deadline:
        time.sleep(2)
        left = wrong_side(checks, container)
    return left
