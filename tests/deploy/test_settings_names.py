"""One set of environment names: app/settings.py's fields (upper-cased) and their validation
aliases. The ECS task definitions, docker-compose and terraform use exactly those."""

from __future__ import annotations

import re

from app.settings import Settings
from tests.deploy.checks import (
    BOTO3_CREDENTIAL_VARIABLES,
    REPO_ROOT,
    load_task_definition_templates,
    load_terraform,
    settings_env_names,
)


def names_in_use() -> dict[str, set[str]]:
    ecs = {
        item["name"]
        for task_definition in load_task_definition_templates().values()
        for container in task_definition["containerDefinitions"]
        for item in container.get("environment", []) + container.get("secrets", [])
    }
    compose_text = (REPO_ROOT / "docker-compose.yml").read_text()
    block = compose_text.split("environment: &app-environment\n", 1)[1].split("\n  restart:", 1)[0]
    compose = set(re.findall(r"^\s{4}([A-Z][A-Z0-9_]+):", block, re.MULTILINE))
    compose |= {"API_KEY", "FLOWER_BASIC_AUTH"} & set(re.findall(r"([A-Z_]+): \$\{", compose_text))
    terraform = {
        name.upper() for name in load_terraform().variables if name in Settings.model_fields
    }
    return {"ecs": ecs, "compose": compose - BOTO3_CREDENTIAL_VARIABLES, "terraform": terraform}


def test_the_names_cover_aliases() -> None:
    names = settings_env_names()
    assert {"AWS_REGION", "AWS_DEFAULT_REGION", "IMAGES_BUCKET", "U2NET_HOME"} <= names


def test_every_deployed_name_is_a_settings_name() -> None:
    known = settings_env_names()
    for where, names in names_in_use().items():
        assert names <= known, f"{where}: {sorted(names - known)} are not settings names"


def test_ecs_and_compose_agree_on_the_shared_names() -> None:
    """What both set means the same thing: the names the worker needs are in both."""
    in_use = names_in_use()
    for name in (
        "IMAGE_PROCESSING_QUEUE_NAME",
        "IMAGES_BUCKET",
        "S3_IMAGES_PREFIX",
        "SQS_VISIBILITY_TIMEOUT",
        "TASK_TIME_LIMIT",
        "MODEL_CHAIN",
        "U2NET_HOME",
        "CASCADE_MAX_DOUBT",
        "CASCADE_MAX_SHADOW",
        "EVENTS_BROKER_URL",
        "BROKER_URL",
    ):
        assert name in in_use["ecs"], name
        assert name in in_use["compose"], name
