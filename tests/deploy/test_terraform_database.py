"""The database in terraform (issue 19, item 12): encrypted, backed up, protected, Multi-AZ in
production, TLS forced, no password in the state; and the connection budget of each
environment against its instance's max_connections, evaluated by terraform."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.deploy.checks import ECS_DIR, REPO_ROOT, TERRAFORM_DIR, load_terraform
from tests.deploy.conftest import replace_in
from tests.deploy.terraform_checks_database import (
    Fleet,
    api_pool_for,
    connections_needed,
    database_problems,
)
from tests.deploy.terraform_checks_stack import secret_problems
from tests.deploy.terraform_console import needs_terraform, terraform_console, variable_errors
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

sys.path.insert(0, str(REPO_ROOT / "deploy"))
import render  # deploy/render.py is a script, not a package

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    ("rds.tf", "storage_encrypted     = true", "storage_encrypted = false", "rds: storage_encr"),
    ("rds.tf", "deletion_protection     = true", "deletion_protection = false", "rds: deletion_p"),
    (
        "rds.tf",
        'multi_az                = var.environment == "production"',
        "multi_az = false",
        "rds: multi_az",
    ),
    (
        "rds.tf",
        'name  = "rds.force_ssl"\n    value = "1"',
        'name  = "rds.force_ssl"\n    value = "0"',
        "rds: the parameter group must force TLS",
    ),
    ("variables.tf", "default     = 14", "default     = 3", "rds: backups must be kept 7 days"),
    (
        "rds.tf",
        "password_wo         = ephemeral.aws_secretsmanager_random_password.database"
        ".random_password",
        'password = "changeme-in-state"',
        "secrets: aws_db_instance.this lets terraform store a database password",
    ),
    (
        "secretsmanager.tf",
        "secret_string_wo = jsonencode({",
        "secret_string = jsonencode({",
        "secrets: aws_secretsmanager_secret_version.database lets terraform store",
    ),
]


def test_the_database_is_encrypted_backed_up_protected_and_tls_only() -> None:
    tf = load_terraform()
    assert database_problems(tf) == []
    assert secret_problems(tf) == []


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


@needs_terraform
def test_terraform_refuses_less_than_a_week_of_backups() -> None:
    errors = variable_errors(TERRAFORM_DIR, {"database_backup_retention_days": 6})
    assert "a week of point-in-time recovery" in errors


def worker_processes() -> int:
    """WORKER_CONCURRENCY as the renderer derives it from worker.json's cpu (terraform's
    local.worker_concurrency reads the same file, which a console over a copy cannot)."""
    template = (ECS_DIR / "worker.json").read_text()
    return int(render.derived_values(template)["worker_concurrency"])


def terraform_budget(
    directory: Path = TERRAFORM_DIR, environment: str | None = None, **values: object
) -> tuple[Fleet, int]:
    """The fleet's maxima with the API pool terraform derives, and max_connections."""
    found = terraform_console(
        directory,
        "[var.api_desired_count, var.worker_max_count, local.database_max_connections,"
        " local.database_api_pool_size]",
        values,
        locals_from=("rds.tf",),
        environment=environment,
        extra_locals={"worker_concurrency": str(worker_processes())},
    )
    return Fleet(found[0], found[1], worker_processes(), found[3]), found[2]


def rendered_api_pool(pool: int, template: str | None = None) -> int:
    """DATABASE_POOL_SIZE of the API's task definition rendered with terraform's value."""
    template = template or render.load_template("api")
    values = dict.fromkeys(render.placeholders(template), "x") | {"database_pool_size": str(pool)}
    (container,) = render.render(template, values)["containerDefinitions"]
    environment = {item["name"]: item["value"] for item in container["environment"]}
    return int(environment["DATABASE_POOL_SIZE"])


def test_terraform_publishes_its_derived_pool_to_the_api() -> None:
    values = load_terraform().locals["task_definition_values"]
    assert values["database_pool_size"] == "${tostring(local.database_api_pool_size)}"


@needs_terraform
@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_the_rendered_api_pool_is_the_formulas_and_the_fleet_fits(environment: str) -> None:
    """docs/deployment.md, "Connections": the API's pool is what max_connections leaves after
    2 x worker tasks x pool processes + beat's 2 + 10 reserved, over 2 x API tasks (a deploy
    doubles every service), at most 20; the API task definition carries that figure, and the
    fleet at its maximum then fits the instance's max_connections."""
    fleet, limit = terraform_budget(environment=environment)
    pool = rendered_api_pool(fleet.api_pool)
    assert pool == api_pool_for(fleet, limit)
    assert connections_needed(replace(fleet, api_pool=pool)) <= limit, (fleet, limit)


@needs_terraform
def test_production_on_the_smallest_instance_gets_a_smaller_pool() -> None:
    """Production's 2 API tasks and 14 workers of 3 pool processes on a db.t4g.micro (112):
    the 20 of a small would need 176, so the pool shrinks to 4 and the fleet fits exactly."""
    fleet, limit = terraform_budget(
        environment="prod", database_instance_class="db.t4g.micro", worker_max_count=14
    )
    assert (limit, fleet.api_pool) == (112, api_pool_for(fleet, limit)) == (112, 4)
    assert connections_needed(fleet) == 112
    assert connections_needed(replace(fleet, api_pool=20)) == 176


@needs_terraform
def test_planted_pool_formula_without_the_deploy_overlap_is_caught(planted) -> None:
    root = planted("terraform")
    replace_in(
        root / "terraform/rds.tf",
        "/ (local.database_deploy_overlap * var.api_desired_count)",
        "/ var.api_desired_count",
    )
    fleet, limit = terraform_budget(
        root / "terraform",
        environment="prod",
        database_instance_class="db.t4g.micro",
        worker_max_count=14,
    )
    assert fleet.api_pool != api_pool_for(fleet, limit)
    assert connections_needed(fleet) > limit


def test_planted_literal_pool_in_the_api_task_definition_is_caught() -> None:
    template = render.load_template("api").replace('"${database_pool_size}"', '"40"')
    assert rendered_api_pool(5, template) == 40 != 5


@needs_terraform
def test_a_fleet_that_leaves_the_api_no_connection_is_refused_by_a_precondition() -> None:
    """30 production workers on a micro leave the API nothing; rds.tf's precondition (on the
    parameter group, which every plan evaluates) refuses such a plan."""
    fleet, _ = terraform_budget(
        environment="prod", database_instance_class="db.t4g.micro", worker_max_count=30
    )
    assert fleet.api_pool < 1
    group = load_terraform().of_type("aws_db_parameter_group")["this"]
    (precondition,) = group["lifecycle"][0]["precondition"]
    assert precondition["condition"] == "${local.database_api_pool_size >= 1}"
