"""terraform/: python-hcl2 parse, `terraform fmt -check` where a binary exists, and the
stack's invariants; each also fed a planted mistake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lark.exceptions import LarkError

from tests.deploy import checks
from tests.deploy.checks import TERRAFORM_DIR, load_terraform, parse_file
from tests.deploy.conftest import replace_in, run

ENVIRONMENTS = ("staging", "prod")


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


TERRAFORM = shutil.which("terraform")
needs_terraform = pytest.mark.skipif(
    TERRAFORM is None,
    reason="no terraform binary on this machine; fmt -check runs where one exists",
)


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
    "queue": checks.queue_problems,
    "storage": checks.storage_problems,
    "iam": checks.iam_problems,
    "ecs_services": checks.ecs_service_problems,
    "autoscaling": checks.autoscaling_problems,
    "alarms_and_logs": checks.alarm_problems,
    "secrets": checks.secret_problems,
    "variables": checks.variable_problems,
    "one_file_per_service": checks.layout_problems,
}


@pytest.mark.parametrize("name", CHECKS)
def test_terraform_invariant(name: str) -> None:
    assert CHECKS[name](load_terraform()) == []


# (file, text to replace, replacement, a problem that must then be reported)
PLANTS = [
    (
        "sqs.tf",
        "deadLetterTargetArn = aws_sqs_queue.dead_letter.arn",
        'deadLetterTargetArn = "arn:aws:sqs:us-east-1:1:other"',
        "redrive_policy does not point",
    ),
    (
        "variables.tf",
        "default     = 900",
        "default     = 200",
        "visibility timeout 200 <= hard time limit 300",
    ),
    (
        "sqs.tf",
        "  sqs_managed_sse_enabled   = true",
        "  sqs_managed_sse_enabled   = false",
        "queue dead_letter without server-side encryption",
    ),
    ("ecr.tf", '"IMMUTABLE"', '"MUTABLE"', "image tags must be IMMUTABLE"),
    ("ecr.tf", "scan_on_push = true", "scan_on_push = false", "scan_on_push must be on"),
    (
        "s3.tf",
        "restrict_public_buckets = true",
        "restrict_public_buckets = false",
        "public access block restrict_public_buckets",
    ),
    (
        "s3.tf",
        'status = "Enabled"\n  }\n}',
        'status = "Suspended"\n  }\n}',
        "versioning must be Enabled",
    ),
    ("iam.tf", '"sqs:SendMessage",', '"sqs:*",', "wildcard action 'sqs:*'"),
    (
        "iam.tf",
        "resources = [aws_sqs_queue.main.arn]",
        'resources = ["*"]',
        "Resource '*' for resource-scoped",
    ),
    (
        "iam.tf",
        '"sqs:GetQueueUrl"',
        '"sqs:ListQueues"',
        "sqs:GetQueueUrl missing",
    ),
    (
        "ecs.tf",
        "ignore_changes = [task_definition]\n",
        "ignore_changes = []\n",
        "lifecycle must ignore_changes task_definition",
    ),
    (
        "ecs.tf",
        "desired_count                      = 1",
        "desired_count                      = 2",
        "beat: exactly one",
    ),
    ("ecs.tf", 'value = "enabled"', 'value = "disabled"', "Container Insights must be on"),
    (
        "variables.tf",
        'an idle fleet cost nothing."\n  default     = 0',
        'an idle fleet cost nothing."\n  default     = 1',
        "able to scale to zero",
    ),
    (
        "autoscaling.tf",
        "value = aws_sqs_queue.main.name",
        'value = "some-other-queue"',
        "target tracking must follow the SQS queue's backlog",
    ),
    (
        "cloudwatch.tf",
        "dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }",
        "dimensions          = local.queue_dimensions",
        "no alarm for DLQ not empty",
    ),
    ("cloudwatch.tf", "retention_in_days = var.log_retention_days", "", "without retention"),
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


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    PLANTS,
    ids=[p[3][:40] for p in PLANTS],
)
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    root = planted("terraform")
    replace_in(root / "terraform" / file, old, new)
    found = checks.all_terraform_problems(load_terraform(root / "terraform"))
    assert any(expected in problem for problem in found), found


def test_planted_database_password_variable_is_refused(planted) -> None:
    root = planted("terraform")
    with (root / "terraform/variables.tf").open("a") as handle:
        handle.write(
            '\nvariable "database_password" {\n  type        = string\n  description = "x"\n}\n'
        )
    found = checks.secret_problems(load_terraform(root / "terraform"))
    assert any("passes a password through terraform" in p for p in found), found


def test_planted_resource_in_the_wrong_file_is_refused(planted) -> None:
    root = planted("terraform")
    with (root / "terraform/s3.tf").open("a") as handle:
        handle.write('\nresource "aws_sqs_queue" "stray" {\n  name = "stray"\n}\n')
    found = checks.layout_problems(load_terraform(root / "terraform"))
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
