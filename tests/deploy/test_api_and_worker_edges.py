"""Where the API and the worker meet ECS and the load balancer (issue 19, items 4, 8 and 9):
a worker's stopTimeout covers its longest task, the API's container check is liveness and the
balancer's is readiness, and uvicorn keeps an idle connection longer than the balancer does.
Each check is shown failing on the mistake it exists for."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from app import healthcheck
from app.time_limits import SHUTDOWN_MARGIN
from deploy import render
from tests.deploy.checks import REPO_ROOT, Terraform, block, load_terraform
from tests.deploy.test_ecs_task_definitions import rendered

# An application load balancer closes a connection idle this long unless told otherwise.
ALB_DEFAULT_IDLE_TIMEOUT = 60


def _worker(task_definition: dict[str, Any]) -> dict[str, Any]:
    (container,) = task_definition["containerDefinitions"]
    return container


def _with_hard_limit(task_definition: dict[str, Any], seconds: int) -> dict[str, Any]:
    for item in _worker(task_definition)["environment"]:
        if item["name"] == "TASK_TIME_LIMIT":
            item["value"] = str(seconds)
    return task_definition


def test_the_margins_agree() -> None:
    assert render.SHUTDOWN_MARGIN_SECONDS == SHUTDOWN_MARGIN


def test_the_worker_outlives_its_longest_task() -> None:
    assert render.shutdown_errors(rendered("worker")) == []
    longest = _with_hard_limit(copy.deepcopy(rendered("worker")), 110)
    assert render.shutdown_errors(longest) == []  # 110 s + 10 s fits Fargate's 120 s


@pytest.mark.parametrize(("stop_timeout", "hard_limit"), [(95, 100), (110, 101), (29, 20)])
def test_a_stop_timeout_short_of_the_hard_limit_fails_the_render(
    stop_timeout: int, hard_limit: int
) -> None:
    planted = _with_hard_limit(copy.deepcopy(rendered("worker")), hard_limit)
    _worker(planted)["stopTimeout"] = stop_timeout
    found = render.problems(planted)
    assert any(f"stopTimeout {stop_timeout} s is below TASK_TIME_LIMIT" in p for p in found), found


def _api_health_path(tf: Terraform) -> str:
    return str(block(tf.of_type("aws_lb_target_group")["api"], "health_check").get("path"))


def test_the_container_checks_liveness_and_the_balancer_readiness() -> None:
    assert healthcheck.LIVENESS_URL.endswith(":8000/health")
    assert _api_health_path(load_terraform()) == "/health/ready"


def test_a_balancer_on_liveness_is_caught() -> None:
    tf = load_terraform()
    block(tf.of_type("aws_lb_target_group")["api"], "health_check")["path"] = "/health"
    assert _api_health_path(tf) != "/health/ready"


def _keep_alive_seconds(entrypoint: str) -> int:
    api_line = next(line for line in entrypoint.splitlines() if "uvicorn app.main:app" in line)
    found = re.search(r"--timeout-keep-alive (\d+)", api_line)
    return int(found.group(1)) if found else 5  # uvicorn's default


def _idle_timeout(tf: Terraform) -> int:
    return int(tf.of_type("aws_lb")["api"].get("idle_timeout", ALB_DEFAULT_IDLE_TIMEOUT))


def test_uvicorn_keeps_idle_connections_longer_than_the_balancer() -> None:
    entrypoint = (REPO_ROOT / "docker" / "entrypoint.sh").read_text()
    assert _keep_alive_seconds(entrypoint) > _idle_timeout(load_terraform())


def test_uvicorns_default_keep_alive_is_caught() -> None:
    entrypoint = (REPO_ROOT / "docker" / "entrypoint.sh").read_text()
    planted = re.sub(r" --timeout-keep-alive \d+", "", entrypoint)
    assert _keep_alive_seconds(planted) <= _idle_timeout(load_terraform())
