"""The deployment invariants, as functions that return a list of problems.

Each test runs a check on the real files and expects no problem, then on a copy with one
planted mistake and expects the problem to be named, so a check that can never fail is caught.

This module holds what every check reads: the repository's paths, the settings' environment
names, the ECS task definition templates, and terraform/ parsed into one model. The checks
live by subject beside it: task_definition_checks.py, terraform_checks_*.py (IAM, storage,
ECS and scaling, alarms, Flower's network, the stack as a whole) and terraform_console.py
(expressions evaluated by terraform itself).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from pydantic import AliasChoices

from app.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
ECS_DIR = REPO_ROOT / "deploy" / "ecs"
TERRAFORM_DIR = REPO_ROOT / "terraform"
SERVICES = ("worker", "beat", "flower", "api")
# terraform/environments/<name>.tfvars and <name>.s3.tfbackend, one pair per environment.
ENVIRONMENTS = ("staging", "prod")

# Variables boto3 itself reads in local stacks; not settings, never set in ECS (the task role).
BOTO3_CREDENTIAL_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


# --- settings names ------------------------------------------------------------------------


def settings_env_names() -> set[str]:
    """Every environment variable the settings object reads: field names and their aliases."""
    names = set()
    for field_name, info in Settings.model_fields.items():
        names.add(field_name.upper())
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
    return names


def secret_setting_names() -> set[str]:
    """Settings typed SecretStr: they travel as secrets, never as plain environment."""
    return {
        name.upper()
        for name, info in Settings.model_fields.items()
        if "SecretStr" in str(info.annotation)
    }


# --- ECS task definitions ------------------------------------------------------------------


def load_task_definition_templates(ecs_dir: Path = ECS_DIR) -> dict[str, dict[str, Any]]:
    return {service: json.loads((ecs_dir / f"{service}.json").read_text()) for service in SERVICES}


# --- terraform -----------------------------------------------------------------------------

_OPTIONS = hcl2.SerializationOptions(with_comments=False, strip_string_quotes=True)


@dataclass
class Terraform:
    resources: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    settings: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, type_name: str, name: str) -> dict[str, Any]:
        return self.resources[(type_name, name)][1]

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {n: body for (t, n), (_, body) in self.resources.items() if t == type_name}


@functools.lru_cache(maxsize=256)
def _parse_text(text: str) -> str:
    return json.dumps(hcl2.loads(text, serialization_options=_OPTIONS))


def parse_file(path: Path) -> dict[str, Any]:
    """python-hcl2's view of one file; parsed once per distinct content (planted copies
    share every file but the one they change)."""
    result: dict[str, Any] = json.loads(_parse_text(path.read_text()))
    return result


def load_terraform(directory: Path = TERRAFORM_DIR) -> Terraform:
    model = Terraform()
    for path in sorted(directory.glob("*.tf")):
        parsed = parse_file(path)
        for kind, target in (("resource", model.resources), ("data", model.data)):
            for entry in parsed.get(kind, []):
                for type_name, named in entry.items():
                    for name, body in named.items():
                        target[(type_name, name)] = (path.name, body)
        for entry in parsed.get("variable", []):
            model.variables.update(entry)
        for entry in parsed.get("output", []):
            model.outputs.update(entry)
        for entry in parsed.get("locals", []):
            model.locals.update({k: v for k, v in entry.items() if not k.startswith("__")})
        model.settings += parsed.get("terraform", [])
    return model


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The first nested block `name` of a body ({} when absent)."""
    blocks = body.get(name) or [{}]
    return blocks[0] if isinstance(blocks, list) else {}


def references(value: Any, target: str) -> bool:
    return target in json.dumps(value)


def default(tf: Terraform, variable: str) -> Any:
    return tf.variables.get(variable, {}).get("default")
