"""terraform/: python-hcl2 parse, `terraform fmt -check` where a binary exists, and the
stack's invariants; each also fed a planted mistake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lark.exceptions import LarkError

from app.time_limits import time_limit_problems
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
    "alarm_topic": checks.alarm_topic_problems,
    "flower": checks.flower_problems,
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
        "default     = 300",
        "default     = 150",
        "visibility timeout 150 s must be 2-4x",
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
    # Alarms arrive: a key of this stack that CloudWatch may use (the first plant is the old code).
    (
        "sns.tf",
        "kms_master_key_id = aws_kms_key.alarms.arn",
        'kms_master_key_id = "alias/aws/sns"',
        "an AWS-managed key's policy cannot grant CloudWatch",
    ),
    ("kms.tf", '"cloudwatch.amazonaws.com"', '"events.amazonaws.com"', "does not let CloudWatch"),
    (
        "kms.tf",
        'actions   = ["kms:Decrypt", "kms:GenerateDataKey"]',
        'actions   = ["kms:Decrypt"]',
        "does not let CloudWatch",
    ),
    ("kms.tf", 'variable = "aws:SourceAccount"', 'variable = "aws:SourceArn"', "does not let"),
    ("kms.tf", "enable_key_rotation     = true", "enable_key_rotation     = false", "must rotate"),
    ("kms.tf", '      "kms:PutKeyPolicy",\n', "", "account root must administer the key"),
    ("kms.tf", '"kms:PutKeyPolicy",', '"kms:*",', "wildcard action 'kms:*'"),
    # Workers on Spot beyond an on-demand base.
    (
        "ecs.tf",
        '  capacity_provider_strategy {\n    capacity_provider = "FARGATE_SPOT"\n    weight'
        "            = 1\n  }\n",
        "",
        "worker: no Fargate Spot",
    ),
    (
        "ecs.tf",
        'capacity_providers = ["FARGATE", "FARGATE_SPOT"]',
        'capacity_providers = ["FARGATE"]',
        "must include FARGATE and FARGATE_SPOT",
    ),
    (
        "ecs.tf",
        "base              = var.worker_on_demand_base\n    weight            = 0",
        "base              = var.worker_on_demand_base\n    weight            = 1",
        "FARGATE must carry the on-demand base",
    ),
    ("ecs.tf", "force_new_deployment = true", "force_new_deployment = false", "force_new_deploy"),
    # Flower: its internal load balancer, HTTPS, its own security groups.
    (
        "ecs.tf",
        "security_groups  = [aws_security_group.flower.id]",
        "security_groups  = [aws_security_group.tasks.id]",
        "its own aws_security_group.flower only",
    ),
    (
        "ecs.tf",
        "target_group_arn = aws_lb_target_group.flower.arn",
        "target_group_arn = aws_lb_target_group.api.arn",
        "behind aws_lb_target_group.flower",
    ),
    ("alb.tf", "internal                   = true", "internal = false", "internal load balancer"),
    (
        "alb.tf",
        "certificate_arn   = var.flower_certificate_arn",
        "certificate_arn   = var.api_certificate_arn",
        "must be HTTPS",
    ),
    ("alb.tf", 'matcher             = "401"', 'matcher = "200-401"', "matcher must be 401"),
    (
        "vpc.tf",
        'HTTPS to Flower from the operators\' private network"\n  ip_protocol       = "tcp"\n'
        "  from_port         = 443\n  to_port           = 443",
        'HTTPS to Flower"\n  ip_protocol = "tcp"\n  from_port = 0\n  to_port = 65535',
        "leaves port 5555 open to network ranges",
    ),
    ("outputs.tf", 'output "flower_url"', 'output "flower"', "no output flower_url"),
    # The missing alarms.
    (
        "cloudwatch.tf",
        "ServiceName = aws_ecs_service.beat.name",
        "ServiceName = aws_ecs_service.api.name",
        "no alarm for beat not running",
    ),
    (
        "cloudwatch.tf",
        'metric_name = "HTTPCode_Target_5XX_Count"',
        'metric_name = "HTTPCode_Target_4XX_Count"',
        "no alarm for API load balancer 5xx",
    ),
    (
        "cloudwatch.tf",
        'metric_name         = "UnHealthyHostCount"',
        'metric_name         = "RequestCount"',
        "no alarm for API unhealthy hosts",
    ),
    (
        "cloudwatch.tf",
        '"HealthyHostCount"\n  dimensions          = local.api_target_dimensions',
        '"HealthyHostCount"\n  dimensions          = local.api_lb_dimensions',
        "no alarm for API without a healthy host",
    ),
    (
        "cloudwatch.tf",
        "TargetGroup  = aws_lb_target_group.flower.arn_suffix",
        "TargetGroup  = aws_lb_target_group.api.arn_suffix",
        "no alarm for Flower unhealthy",
    ),
    (
        "cloudwatch.tf",
        "alarm_actions       = local.alarm_actions",
        "alarm_actions       = []",
        "does not notify the alarm topic",
    ),
    # ECR: the api repository, the deployed images kept first, pulls from production.
    (
        "ecr.tf",
        'resource "aws_ecr_repository" "api"',
        'resource "aws_ecr_repository" "small"',
        "no repository aws_ecr_repository.api",
    ),
    (
        "ecr.tf",
        'tagPrefixList = ["deployed-"]',
        'tagPrefixList = ["release-"]',
        "first lifecycle rule must keep the last ecr_keep_deployed_images",
    ),
    (
        "ecr.tf",
        '"ecr:GetDownloadUrlForLayer"]',
        '"ecr:GetDownloadUrlForLayer", "ecr:PutImage"]',
        "not pulls only",
    ),
    (
        "ecr.tf",
        "repository = aws_ecr_repository.api.name\n  policy     = data",
        "repository = aws_ecr_repository.this.name\n  policy     = data",
        "ecr api: no repository policy for var.ecr_pull_account_ids",
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


def test_planted_flower_port_open_to_a_network_is_refused(planted) -> None:
    """The old rule: Flower's basic auth over plain HTTP on 5555, open to flower_allowed_cidrs."""
    root = planted("terraform")
    with (root / "terraform/vpc.tf").open("a") as handle:
        handle.write(
            '\nresource "aws_vpc_security_group_ingress_rule" "tasks_flower_from_operators" {\n'
            "  for_each          = toset(var.flower_allowed_cidrs)\n"
            "  security_group_id = aws_security_group.tasks.id\n"
            '  ip_protocol       = "tcp"\n'
            "  from_port         = 5555\n"
            "  to_port           = 5555\n"
            "  cidr_ipv4         = each.value\n}\n"
        )
    found = checks.flower_problems(load_terraform(root / "terraform"))
    assert found == [
        "flower: ingress tasks_flower_from_operators leaves port 5555 open to network ranges"
    ]


def test_planted_plain_http_listener_on_flower_is_refused(planted) -> None:
    root = planted("terraform")
    with (root / "terraform/alb.tf").open("a") as handle:
        handle.write(
            '\nresource "aws_lb_listener" "flower_http" {\n'
            "  load_balancer_arn = aws_lb.flower.arn\n"
            "  port              = 80\n"
            '  protocol          = "HTTP"\n}\n'
        )
    found = checks.flower_problems(load_terraform(root / "terraform"))
    assert any("every listener of its load balancer must be HTTPS" in p for p in found), found


def test_planted_old_time_limits_are_refused(planted) -> None:
    """The old defaults (soft 240, hard 300, visibility 900) outlive Fargate's stop window."""
    root = planted("terraform")
    variables = root / "terraform/variables.tf"
    replace_in(variables, "  default     = 300\n", "  default     = 900\n")
    replace_in(
        variables,
        "  default     = 100\n\n  validation {\n    condition     = var.task_time",
        "  default     = 300\n\n  validation {\n    condition     = var.task_time",
    )
    replace_in(variables, "  default     = 90\n", "  default     = 240\n")
    found = checks.queue_problems(load_terraform(root / "terraform"))
    assert any("TASK_TIME_LIMIT 300 s must be at most 110 s" in p for p in found), found


# --- evaluated by terraform itself (terraform console: no provider, no init) ----------------

TIME_LIMIT_VARIABLES = ("task_soft_time_limit", "task_time_limit", "sqs_visibility_timeout")


@needs_terraform
def test_time_limit_defaults_fit_the_fargate_stop_window() -> None:
    values = checks.terraform_console(
        TERRAFORM_DIR, f"[{', '.join(f'var.{v}' for v in TIME_LIMIT_VARIABLES)}]"
    )
    assert values == [90, 100, 300]
    assert checks.variable_errors(TERRAFORM_DIR, {}) == ""
    for environment in ENVIRONMENTS:
        assert (
            checks.terraform_console(TERRAFORM_DIR, "var.task_time_limit", environment=environment)
            <= 110
        )


@needs_terraform
@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"task_soft_time_limit": 100}, "task_soft_time_limit must be above 0 and below"),
        ({"task_soft_time_limit": 0}, "task_soft_time_limit must be above 0 and below"),
        (
            {"task_time_limit": 111, "sqs_visibility_timeout": 333},
            "task_time_limit must be at most 110 s",
        ),
        (
            {"task_soft_time_limit": 240, "task_time_limit": 300, "sqs_visibility_timeout": 900},
            "task_time_limit must be at most 110 s",
        ),
        ({"sqs_visibility_timeout": 199}, "sqs_visibility_timeout must be 2-4x task_time_limit"),
        ({"sqs_visibility_timeout": 401}, "sqs_visibility_timeout must be 2-4x task_time_limit"),
    ],
    ids=str,
)
def test_terraform_refuses_time_limits_outside_the_rule(
    values: dict[str, int], refusal: str
) -> None:
    assert refusal in checks.variable_errors(TERRAFORM_DIR, values)


@needs_terraform
def test_terraform_time_limit_validations_are_the_rule_of_app_time_limits() -> None:
    """One rule in settings, the worker's start-up check and terraform: terraform refuses
    exactly the combinations app/time_limits.py refuses."""
    disagreements = []
    for hard in (60, 100, 110, 111):
        for soft in (0, hard - 1, hard):
            for visibility in (2 * hard - 1, 2 * hard, 4 * hard, 4 * hard + 1):
                values = dict(zip(TIME_LIMIT_VARIABLES, (soft, hard, visibility), strict=True))
                refused = bool(checks.variable_errors(TERRAFORM_DIR, values))
                wrong = bool(time_limit_problems(soft=soft, hard=hard, visibility=visibility))
                if refused != wrong:
                    disagreements.append((values, "refused" if refused else "accepted"))
    assert disagreements == []


@needs_terraform
@pytest.mark.parametrize(
    ("environment", "values"),
    [
        (None, {}),
        ("staging", {}),
        ("prod", {}),
        (None, {"worker_backlog_per_task_target": 7, "worker_max_count": 30}),
        (None, {"worker_backlog_per_task_target": 1, "worker_max_count": 3}),
        (None, {"worker_max_count": 1}),
    ],
    ids=str,
)
def test_scale_out_from_zero_sizes_the_fleet_to_the_backlog(
    environment: str | None, values: dict[str, int]
) -> None:
    """1, T, T+1, 5T and 100T waiting messages (T = the backlog per task) start
    min(max, ceil(waiting / T)) tasks, evaluated from the policy's real step expressions."""
    assert checks.scale_out_from_zero_problems(TERRAFORM_DIR, values, environment) == []


OLD_STEPS = """    step_adjustment {
      metric_interval_lower_bound = 0
      metric_interval_upper_bound = var.worker_backlog_per_task_target
      scaling_adjustment          = 1
    }

    step_adjustment {
      metric_interval_lower_bound = var.worker_backlog_per_task_target
      scaling_adjustment          = var.worker_max_count
    }
"""


@needs_terraform
def test_planted_jump_to_the_maximum_is_refused(planted) -> None:
    """The old policy: one task up to T waiting messages, then straight to the maximum."""
    root = planted("terraform")
    autoscaling = root / "terraform/autoscaling.tf"
    text = autoscaling.read_text()
    start = text.index('    dynamic "step_adjustment" {')
    end = text.index("    }\n  }\n", start) + len("    }\n")
    autoscaling.write_text(text[:start] + OLD_STEPS + text[end:])
    found = checks.scale_out_from_zero_problems(root / "terraform")
    assert "autoscaling: 101 waiting messages start 10 tasks from zero, not 2 " in " ".join(found)


def test_the_ecr_model_follows_the_documented_examples() -> None:
    """Amazon ECR User Guide, "Examples of lifecycle policies", examples A and B: a rule never
    expires an image a higher-priority rule's tag selection matched."""
    rules = {
        "rules": [
            {
                "rulePriority": priority,
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": [prefix],
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                },
            }
            for priority, prefix in ((1, "prod"), (2, "beta"))
        ]
    }
    image_a = checks.EcrImage("A", 10, ("beta-1", "prod-1"))
    image_b = checks.EcrImage("B", 9, ("beta-2", "prod-2"))
    assert checks.ecr_expired(rules, [image_a, image_b, checks.EcrImage("C", 8, ("beta-3",))]) == {
        "A"
    }
    image_c = checks.EcrImage("C", 8, ("beta-3", "prod-3"))
    assert checks.ecr_expired(rules, [image_a, image_b, image_c]) == {"A", "B"}


@needs_terraform
def test_ecr_lifecycle_keeps_the_deployed_images() -> None:
    assert checks.ecr_lifecycle_problems() == []


OLD_LIFECYCLE = """jsonencode({
    rules = [
      {
        rulePriority = 1
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.ecr_keep_tagged_images
        }
        action = { type = "expire" }
      },
    ]
  })"""


@needs_terraform
def test_planted_keep_ten_rule_expires_the_running_image(planted) -> None:
    """The old policy kept the last 10 tagged pushes: 10 pushes later, the running image went."""
    root = planted("terraform")
    replace_in(
        root / "terraform/ecr.tf",
        "policy     = jsonencode(local.ecr_lifecycle_policy)",
        f"policy     = {OLD_LIFECYCLE}",
        count=1,
    )
    found = checks.ecr_lifecycle_problems(root / "terraform")
    assert any(
        p.startswith("ecr lifecycle this: expires ['deployed-0'") and "the running one" in p
        for p in found
    ), found
