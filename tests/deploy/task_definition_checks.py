"""The invariants of one ECS task definition of deploy/ecs, placeholders unrendered."""

from __future__ import annotations

import re
from typing import Any

from app.settings import Settings
from tests.deploy.checks import secret_setting_names, settings_env_names

CREDENTIALS_IN_URL = re.compile(r"://[^/@\s]+:[^/@\s]+@")
FARGATE_MAX_STOP_TIMEOUT = 120


def ecs_invariant_problems(service: str, task_definition: dict[str, Any]) -> list[str]:
    """Invariants of one task definition (as in deploy/ecs, placeholders unrendered)."""
    problems: list[str] = []
    if task_definition.get("runtimePlatform", {}).get("cpuArchitecture") != "X86_64":
        problems.append(f"{service}: runtimePlatform.cpuArchitecture must be X86_64")
    if task_definition.get("requiresCompatibilities") != ["FARGATE"]:
        problems.append(f"{service}: requiresCompatibilities must be ['FARGATE']")
    if service == "worker":
        if task_definition.get("cpu") != "2048":
            problems.append("worker: cpu must be 2048 (2 vCPU)")
        if task_definition.get("memory") != "8192":
            problems.append("worker: memory must be 8192 (8 GB)")
    for container in task_definition.get("containerDefinitions", []):
        problems += container_problems(service, container)
    return problems


def container_problems(service: str, container: dict[str, Any]) -> list[str]:
    """One container of the task definition: who it runs as, its image, logs and checks."""
    problems = []
    name = f"{service}/{container.get('name')}"
    user = str(container.get("user", ""))
    if user.split(":")[0] in {"", "0", "root"}:
        problems.append(f"{name}: runs as root (user {user!r})")
    if container.get("image") != "${image}":
        problems.append(f"{name}: image must be the ${{image}} placeholder")
    if not container.get("readonlyRootFilesystem"):
        problems.append(f"{name}: root filesystem must be read-only")
    if container.get("logConfiguration", {}).get("logDriver") != "awslogs":
        problems.append(f"{name}: logs must go to awslogs")
    if not container.get("healthCheck", {}).get("command"):
        problems.append(f"{name}: no health check")
    stop_timeout = container.get("stopTimeout", 30)
    if service == "worker" and not 90 <= stop_timeout <= FARGATE_MAX_STOP_TIMEOUT:
        problems.append(
            f"{name}: stopTimeout {stop_timeout} s; a warm shutdown needs 90..120 s "
            f"(Fargate's maximum is {FARGATE_MAX_STOP_TIMEOUT})"
        )
    return problems + environment_problems(name, container)


def environment_problems(name: str, container: dict[str, Any]) -> list[str]:
    """A container's environment and secrets: settings names only, secrets from ARNs."""
    problems = []
    known, secret_names = settings_env_names(), secret_setting_names()
    for variable in container.get("environment", []):
        env_name, value = variable.get("name", ""), str(variable.get("value", ""))
        if env_name not in known:
            problems.append(f"{name}: environment {env_name!r} is not a settings name")
        if env_name in secret_names:
            problems.append(f"{name}: {env_name} is a secret; it belongs in `secrets`")
        if CREDENTIALS_IN_URL.search(value):
            problems.append(f"{name}: environment {env_name} carries credentials in a URL")
        placeholder = re.fullmatch(r"\$\{([a-z0-9_]+)\}", value)
        settings_backed = env_name.lower() in Settings.model_fields
        if placeholder and settings_backed and placeholder.group(1) != env_name.lower():
            problems.append(
                f"{name}: {env_name} is filled from ${{{placeholder.group(1)}}}; "
                f"a settings-backed value uses its own name, ${{{env_name.lower()}}}"
            )
    for secret in container.get("secrets", []):
        env_name, source = secret.get("name", ""), secret.get("valueFrom", "")
        if env_name not in known:
            problems.append(f"{name}: secret {env_name!r} is not a settings name")
        if source != f"${{{env_name.lower()}_secret_arn}}":
            problems.append(f"{name}: secret {env_name} must come from a Secrets Manager ARN")
    return problems
