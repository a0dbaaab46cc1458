"""The database in terraform (issue 19, item 12): encrypted, backed up, protected, Multi-AZ in
production, TLS forced, no password in the state; and the connection budget of each
environment against its instance's max_connections, evaluated by terraform."""

from __future__ import annotations

import sys

import pytest

from tests.deploy.checks import ECS_DIR, REPO_ROOT, TERRAFORM_DIR, load_terraform
from tests.deploy.terraform_checks_database import (
    Fleet,
    api_pool_size,
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


def fleet_and_limit(environment: str) -> tuple[Fleet, int]:
    """The environment's fleet maxima and its instance's max_connections, by terraform."""
    found = terraform_console(
        TERRAFORM_DIR,
        "[var.api_desired_count, var.worker_max_count, local.database_max_connections]",
        locals_from=("rds.tf",),
        environment=environment,
    )
    template = (ECS_DIR / "worker.json").read_text()
    processes = int(render.derived_values(template)["worker_concurrency"])
    return Fleet(found[0], found[1], processes, api_pool_size()), found[2]


@needs_terraform
@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_the_fleet_at_its_maximum_fits_the_servers_max_connections(environment: str) -> None:
    """docs/deployment.md, "Connections": 2 x API tasks x its pool + 2 x worker tasks x pool
    processes + beat's 2 + 10 reserved <= max_connections (a deploy doubles every service)."""
    fleet, limit = fleet_and_limit(environment)
    assert connections_needed(fleet) <= limit, (fleet, limit)


@needs_terraform
def test_production_on_the_smallest_instance_would_not_fit() -> None:
    """The planted mistake: production's 2 API tasks and 20 workers on a db.t4g.micro."""
    fleet, _ = fleet_and_limit("prod")
    micro = terraform_console(
        TERRAFORM_DIR,
        "local.database_max_connections",
        {"database_instance_class": "db.t4g.micro"},
        locals_from=("rds.tf",),
    )
    assert (micro, connections_needed(fleet)) == (112, 172)
