"""deploy/ecs/*.json against botocore's RegisterTaskDefinition model, Fargate's size table
and the fleet's invariants; each check also fed a planted mistake."""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.checks import (
    ECS_DIR,
    REPO_ROOT,
    SERVICES,
    load_task_definition_templates,
    load_terraform,
)
from tests.deploy.conftest import run
from tests.deploy.task_definition_checks import ecs_invariant_problems

sys.path.insert(0, str(REPO_ROOT / "deploy"))
import render  # deploy/render.py is a script, not a package

ACCOUNT = "123456789012"


def sample_values(template: str) -> dict[str, str]:
    """Realistic values for every placeholder, as terraform would publish them."""
    values = {name: f"sample-{name}" for name in render.placeholders(template)}
    values.update(
        image=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/image-processor-staging:0123abc",
        aws_region="us-east-1",
        sqs_visibility_timeout="300",
        task_time_limit="100",
        task_soft_time_limit="90",
    )
    for service in SERVICES:
        values[f"{service}_task_role_arn"] = (
            f"arn:aws:iam::{ACCOUNT}:role/ip-staging-{service}-task"
        )
        values[f"{service}_execution_role_arn"] = (
            f"arn:aws:iam::{ACCOUNT}:role/ip-staging-{service}-exec"
        )
    for name in values:
        if name.endswith("_secret_arn"):
            values[name] = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}-AbCdEf"
    return values


def rendered(service: str) -> dict[str, Any]:
    template = render.load_template(service)
    return render.render(template, sample_values(template))


@pytest.mark.parametrize("service", SERVICES)
def test_task_definition_passes_the_ecs_input_model_and_fargate_table(service: str) -> None:
    assert render.problems(rendered(service)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_task_definition_invariants(service: str) -> None:
    assert ecs_invariant_problems(service, load_task_definition_templates()[service]) == []


def test_templates_are_plain_templatefile_input() -> None:
    """terraform's templatefile() reads these files too: only ${name}, no %{ } directives."""
    for path in ECS_DIR.glob("*.json"):
        text = path.read_text()
        assert "%{" not in text, path
        assert text.count("${") == len(re.findall(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", text)), path


def test_terraform_supplies_every_placeholder() -> None:
    supplied = set(load_terraform().locals["task_definition_values"]) | {"image"}
    for service in SERVICES:
        template = render.load_template(service)
        missing = render.placeholders(template) - supplied - render.derived_values(template).keys()
        assert not missing, f"{service}: terraform's task_definition_values lacks {missing}"


def test_render_cli_prints_a_registrable_task_definition(tmp_path) -> None:
    values = sample_values(render.load_template("worker"))
    image = values.pop("image")
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps(values))
    result = run(
        [
            sys.executable,
            "deploy/render.py",
            "worker",
            "--values",
            str(values_file),
            "--image",
            image,
        ]
    )
    assert result.returncode == 0, result.stderr
    task_definition = json.loads(result.stdout)
    assert task_definition["containerDefinitions"][0]["image"] == image

    del values["images_bucket"]
    values_file.write_text(json.dumps(values))
    result = run(
        [
            sys.executable,
            "deploy/render.py",
            "worker",
            "--values",
            str(values_file),
            "--image",
            image,
        ]
    )
    assert result.returncode == 1
    assert "no value for placeholder(s): images_bucket" in result.stderr


def _container(td: dict[str, Any]) -> dict[str, Any]:
    return td["containerDefinitions"][0]


MODEL_PLANTS: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    (
        "unknown key",
        lambda td: _container(td).update(stopTimout=120),
        'Unknown parameter in containerDefinitions[0]: "stopTimout"',
    ),
    ("wrong type", lambda td: td.update(cpu=2048), "Invalid type for parameter cpu, value: 2048"),
    (
        "missing required member",
        lambda td: td.pop("family"),
        'Missing required parameter in input: "family"',
    ),
    (
        "missing nested required member",
        lambda td: (
            _container(td)["environment"][0].pop("name")
            and _container(td)["secrets"][0].pop("valueFrom")
        ),
        'Missing required parameter in containerDefinitions[0].secrets[0]: "valueFrom"',
    ),
    (
        "enum",
        lambda td: td["runtimePlatform"].update(cpuArchitecture="X86"),
        "'X86' is not one of ['ARM64', 'X86_64']",
    ),
    (
        "enum in a list",
        lambda td: td.update(requiresCompatibilities=["FARGATE_SPOT"]),
        "'FARGATE_SPOT' is not one of",
    ),
    (
        "fargate memory",
        lambda td: td.update(memory="1024"),
        "memory 1024 is not valid with cpu 2048 on Fargate",
    ),
    ("fargate cpu", lambda td: td.update(cpu="3072"), "cpu 3072 is not a Fargate size"),
    (
        "fargate stopTimeout",
        lambda td: _container(td).update(stopTimeout=300),
        "stopTimeout above Fargate's maximum of 120 s",
    ),
]


@pytest.mark.parametrize(
    ("label", "plant", "expected"), MODEL_PLANTS, ids=[p[0] for p in MODEL_PLANTS]
)
def test_planted_mistake_fails_the_ecs_model(label: str, plant, expected: str) -> None:
    task_definition = copy.deepcopy(rendered("worker"))
    plant(task_definition)
    found = render.problems(task_definition)
    assert any(expected in problem for problem in found), found


def _env(td: dict[str, Any]) -> list[dict[str, str]]:
    return _container(td)["environment"]


INVARIANT_PLANTS: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("worker memory", lambda td: td.update(memory="4096"), "worker: memory must be 8192"),
    ("worker cpu", lambda td: td.update(cpu="1024"), "worker: cpu must be 2048"),
    (
        "arm64",
        lambda td: td["runtimePlatform"].update(cpuArchitecture="ARM64"),
        "cpuArchitecture must be X86_64",
    ),
    ("root user", lambda td: _container(td).update(user="0"), "runs as root"),
    ("no user", lambda td: _container(td).pop("user"), "runs as root"),
    (
        "plaintext secret",
        lambda td: _env(td).append({"name": "API_KEY", "value": "hunter2"}),
        "API_KEY is a secret; it belongs in `secrets`",
    ),
    (
        "password in a url",
        lambda td: _env(td).append(
            {"name": "BROKER_URL", "value": "redis://user:hunter2@cache:6379/0"}
        ),
        "carries credentials in a URL",
    ),
    (
        "env name typo",
        lambda td: _env(td).append({"name": "IMAGE_BUCKET", "value": "x"}),
        "'IMAGE_BUCKET' is not a settings name",
    ),
    (
        "placeholder name",
        lambda td: _env(td).append({"name": "IMAGES_BUCKET", "value": "${bucket}"}),
        "uses its own name, ${images_bucket}",
    ),
    (
        "short stopTimeout",
        lambda td: _container(td).update(stopTimeout=30),
        "a warm shutdown needs 90..120 s",
    ),
    (
        "secret by value",
        lambda td: _container(td)["secrets"][0].update(valueFrom="redis://x"),
        "must come from a Secrets Manager ARN",
    ),
    (
        "writable root",
        lambda td: _container(td).update(readonlyRootFilesystem=False),
        "root filesystem must be read-only",
    ),
]


@pytest.mark.parametrize(
    ("label", "plant", "expected"), INVARIANT_PLANTS, ids=[p[0] for p in INVARIANT_PLANTS]
)
def test_planted_mistake_fails_the_invariants(label: str, plant, expected: str) -> None:
    task_definition = copy.deepcopy(load_task_definition_templates()["worker"])
    plant(task_definition)
    found = ecs_invariant_problems("worker", task_definition)
    assert any(expected in problem for problem in found), found
