"""terraform/: python-hcl2 parse, `terraform fmt -check` where a binary exists, every invariant
on the real stack, and the stack-wide ones (variables, secrets, one file per service, the
environments); each also fed a planted mistake.

The other invariants' planted mistakes live by subject: test_terraform_storage.py,
test_terraform_iam.py, test_terraform_ecs.py, test_terraform_alarms.py,
test_terraform_flower.py and test_terraform_time_limits.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lark.exceptions import LarkError

from tests.deploy.checks import ENVIRONMENTS, TERRAFORM_DIR, load_terraform, parse_file
from tests.deploy.conftest import replace_in, run
from tests.deploy.terraform_checks_alarms import alarm_problems, alarm_topic_problems
from tests.deploy.terraform_checks_ecs import autoscaling_problems, ecs_service_problems
from tests.deploy.terraform_checks_iam import iam_problems
from tests.deploy.terraform_checks_network import flower_problems
from tests.deploy.terraform_checks_stack import layout_problems, secret_problems, variable_problems
from tests.deploy.terraform_checks_storage import queue_problems, storage_problems
from tests.deploy.terraform_console import TERRAFORM, needs_terraform
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant


def hcl_files(root: Path = TERRAFORM_DIR) -> list[Path]:
    return sorted([*root.glob("*.tf"), *root.glob("environments/*")])


@pytest.mark.parametrize("path", hcl_files(), ids=lambda p: str(p.relative_to(TERRAFORM_DIR)))
def test_every_terraform_file_parses(path: Path) -> None:
    assert parse_file(path)


def test_planted_syntax_error_fails_the_parse(planted) -> None:
    root = planted("terraform")
    replace_in(
        root / "terraform/sqs.tf", "receive_wait_time_seconds  = 10", "receive_wait_time_seconds = "
    )
    with pytest.raises((LarkError, ValueError)):
        parse_file(root / "terraform/sqs.tf")


@needs_terraform
def test_terraform_fmt_check() -> None:
    result = run(
        [TERRAFORM, "fmt", "-check", "-recursive", "-diff", "terraform"],
        TF_CLI_CONFIG_FILE="/dev/null",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_terraform
def test_planted_misformatting_fails_fmt(planted) -> None:
    root = planted("terraform")
    replace_in(
        root / "terraform/sqs.tf",
        "  sqs_managed_sse_enabled   = true",
        "  sqs_managed_sse_enabled=true",
    )
    result = run(
        [TERRAFORM, "fmt", "-check", "-recursive", "terraform"],
        cwd=root,
        TF_CLI_CONFIG_FILE="/dev/null",
    )
    assert result.returncode != 0
    assert "sqs.tf" in result.stdout


CHECKS = {
    "queue": queue_problems,
    "storage": storage_problems,
    "iam": iam_problems,
    "ecs_services": ecs_service_problems,
    "autoscaling": autoscaling_problems,
    "alarms_and_logs": alarm_problems,
    "alarm_topic": alarm_topic_problems,
    "flower": flower_problems,
    "secrets": secret_problems,
    "variables": variable_problems,
    "one_file_per_service": layout_problems,
}


@pytest.mark.parametrize("name", CHECKS)
def test_terraform_invariant(name: str) -> None:
    assert CHECKS[name](load_terraform()) == []


# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "variables.tf",
        'description = "Fewest worker tasks; 0 lets an idle fleet cost nothing."',
        'description = ""',
        "variable worker_min_count: no description",
    ),
    (
        "variables.tf",
        'variable "name" {\n  type        = string\n',
        'variable "name" {\n',
        "variable name: no type",
    ),
    (
        "variables.tf",
        'default     = "image-processing"',
        'default     = "images"',
        "differs from app/settings.py",
    ),
    (
        "secretsmanager.tf",
        "arn = var.database_secret_arn",
        'arn = "arn:aws:secretsmanager:x"',
        "database secret must be read from var.database_secret_arn",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


def test_planted_database_password_variable_is_refused(planted) -> None:
    root = planted("terraform")
    with (root / "terraform/variables.tf").open("a") as handle:
        handle.write(
            '\nvariable "database_password" {\n  type        = string\n  description = "x"\n}\n'
        )
    found = secret_problems(load_terraform(root / "terraform"))
    assert any("passes a password through terraform" in p for p in found), found


def test_planted_resource_in_the_wrong_file_is_refused(planted) -> None:
    root = planted("terraform")
    with (root / "terraform/s3.tf").open("a") as handle:
        handle.write('\nresource "aws_sqs_queue" "stray" {\n  name = "stray"\n}\n')
    found = layout_problems(load_terraform(root / "terraform"))
    assert "aws_sqs_queue.stray is in s3.tf, belongs in sqs.tf" in found


def tfvars_problems(root: Path) -> list[str]:
    model = load_terraform(root)
    required = {name for name, body in model.variables.items() if "default" not in body}
    problems = []
    for environment in ENVIRONMENTS:
        values = {
            k
            for k in parse_file(root / f"environments/{environment}.tfvars")
            if not k.startswith("__")
        }
        problems += [
            f"{environment}.tfvars: unknown variable {k}"
            for k in sorted(values - set(model.variables))
        ]
        problems += [
            f"{environment}.tfvars: required variable {k} missing"
            for k in sorted(required - values)
        ]
        backend = parse_file(root / f"environments/{environment}.s3.tfbackend")
        for key in ("bucket", "key", "region"):
            if not backend.get(key):
                problems.append(f"{environment}.s3.tfbackend: no {key}")
        if backend.get("encrypt") is not True or backend.get("use_lockfile") is not True:
            problems.append(f"{environment}.s3.tfbackend: state must be encrypted and locked")
    return problems


def test_staging_and_prod_tfvars_and_backends() -> None:
    assert tfvars_problems(TERRAFORM_DIR) == []


def test_planted_tfvars_typo_is_refused(planted) -> None:
    root = planted("terraform")
    replace_in(root / "terraform/environments/prod.tfvars", "worker_max_count", "worker_max_cont")
    found = tfvars_problems(root / "terraform")
    assert "prod.tfvars: unknown variable worker_max_cont" in found


def test_staging_lets_production_pull_its_images() -> None:
    """Build once, promote by digest: production's account (that of prod.tfvars' ARNs) may pull
    from staging's repositories, and production reads exactly those."""
    staging = parse_file(TERRAFORM_DIR / "environments/staging.tfvars")
    prod = parse_file(TERRAFORM_DIR / "environments/prod.tfvars")
    production_account = prod["database_secret_arn"].split(":")[4]
    staging_account = staging["database_secret_arn"].split(":")[4]
    assert staging["ecr_pull_account_ids"] == [production_account]
    assert prod["ecr_pull_account_ids"] == []
    assert prod["promote_from_repository_arns"] == [
        f"arn:aws:ecr:us-east-1:{staging_account}:repository/image-processor-staging",
        f"arn:aws:ecr:us-east-1:{staging_account}:repository/image-processor-staging-api",
    ]
