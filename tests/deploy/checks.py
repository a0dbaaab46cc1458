"""The deployment invariants, as functions that return a list of problems.

Each test runs a check on the real files and expects no problem, then on a copy with one
planted mistake and expects the problem to be named, so a check that can never fail is caught.
"""

from __future__ import annotations

import functools
import json
import re
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

# Variables boto3 itself reads in local stacks; not settings, never set in ECS (the task role).
BOTO3_CREDENTIAL_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
# Actions IAM cannot scope to a resource: the only ones allowed with Resource "*".
UNSCOPED_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
}
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s]+:[^/@\s]+@")
FARGATE_MAX_STOP_TIMEOUT = 120


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


def ecs_invariant_problems(service: str, task_definition: dict[str, Any]) -> list[str]:
    """Invariants of one task definition (as in deploy/ecs, placeholders unrendered)."""
    problems: list[str] = []
    known, secret_names = settings_env_names(), secret_setting_names()
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


def policy_statements(tf: Terraform) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for (type_name, name), (_, body) in tf.data.items():
        if type_name != "aws_iam_policy_document":
            continue
        for statement in body.get("statement", []):
            found.append((name, statement))
        for dynamic in body.get("dynamic", []):
            for content in dynamic.get("statement", {}).get("content", []):
                found.append((name, content))
    return found


def iam_problems(tf: Terraform) -> list[str]:
    problems = []
    for document, statement in policy_statements(tf):
        actions = statement.get("actions", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("effect", "Allow") != "Allow":
            continue
        for action in actions:
            if "*" in action:
                problems.append(f"iam {document}: wildcard action {action!r}")
        resources = statement.get("resources", [])
        if resources == ["*"] and not set(actions) <= UNSCOPED_ACTIONS:
            scoped = sorted(set(actions) - UNSCOPED_ACTIONS)
            problems.append(f"iam {document}: Resource '*' for resource-scoped actions {scoped}")
    task_actions = {
        action
        for document, statement in policy_statements(tf)
        if document == "tasks"
        for action in statement.get("actions", [])
    }
    for needed in ("sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"):
        if needed not in task_actions:
            problems.append(f"iam tasks: {needed} missing (the worker and its health check use it)")
    return problems


def queue_problems(tf: Terraform) -> list[str]:
    settings = Settings()
    problems = []
    main = tf.resource("aws_sqs_queue", "main")
    dead_letter = tf.resource("aws_sqs_queue", "dead_letter")
    redrive = str(main.get("redrive_policy", ""))
    if "aws_sqs_queue.dead_letter.arn" not in redrive or "maxReceiveCount" not in redrive:
        problems.append("sqs: the main queue's redrive_policy does not point at the DLQ")
    if dead_letter.get("name") != "${var.image_processing_queue_name}-dlq":
        problems.append("sqs: the DLQ must be named <image_processing_queue_name>-dlq")
    if main.get("visibility_timeout_seconds") != "${var.sqs_visibility_timeout}":
        problems.append("sqs: visibility_timeout_seconds must come from var.sqs_visibility_timeout")
    visibility = default(tf, "sqs_visibility_timeout")
    hard_limit = default(tf, "task_time_limit")
    if not (isinstance(visibility, int) and isinstance(hard_limit, int)):
        problems.append("sqs: sqs_visibility_timeout and task_time_limit need numeric defaults")
    else:
        if visibility <= hard_limit:
            problems.append(f"sqs: visibility timeout {visibility} <= hard time limit {hard_limit}")
        if visibility <= settings.task_time_limit:
            problems.append(
                f"sqs: visibility timeout {visibility} <= the Celery hard time limit "
                f"{settings.task_time_limit} of app/settings.py"
            )
    for name, body in (("main", main), ("dead_letter", dead_letter)):
        if body.get("sqs_managed_sse_enabled") is not True and "kms_master_key_id" not in body:
            problems.append(f"sqs: queue {name} without server-side encryption")
    return problems


def storage_problems(tf: Terraform) -> list[str]:
    problems = []
    ecr = tf.resource("aws_ecr_repository", "this")
    if ecr.get("image_tag_mutability") != "IMMUTABLE":
        problems.append("ecr: image tags must be IMMUTABLE")
    if block(ecr, "image_scanning_configuration").get("scan_on_push") is not True:
        problems.append("ecr: scan_on_push must be on")
    lifecycle = str(tf.resource("aws_ecr_lifecycle_policy", "this").get("policy", ""))
    if "untagged" not in lifecycle or "imageCountMoreThan" not in lifecycle:
        problems.append("ecr: lifecycle must expire untagged images and keep the last N tagged")
    if default(tf, "ecr_keep_tagged_images") != 10:
        problems.append("ecr: keep the last 10 tagged images")
    public_access = tf.resource("aws_s3_bucket_public_access_block", "images")
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        if public_access.get(flag) is not True:
            problems.append(f"s3: public access block {flag} must be true")
    if not tf.of_type("aws_s3_bucket_server_side_encryption_configuration"):
        problems.append("s3: no server-side encryption configuration")
    versioning = tf.of_type("aws_s3_bucket_versioning").get("images", {})
    if block(versioning, "versioning_configuration").get("status") != "Enabled":
        problems.append("s3: versioning must be Enabled")
    return problems


def ecs_service_problems(tf: Terraform) -> list[str]:
    problems = []
    cluster = tf.resource("aws_ecs_cluster", "this")
    insights = {s.get("name"): s.get("value") for s in cluster.get("setting", [])}
    if insights.get("containerInsights") not in {"enabled", "enhanced"}:
        problems.append("ecs: Container Insights must be on")
    for name, body in tf.of_type("aws_ecs_service").items():
        ignored = block(body, "lifecycle").get("ignore_changes", [])
        if "${task_definition}" not in ignored and "task_definition" not in ignored:
            problems.append(f"ecs service {name}: lifecycle must ignore_changes task_definition")
        if block(body, "network_configuration").get("assign_public_ip") is not False:
            problems.append(f"ecs service {name}: tasks must not get a public IP")
    beat = tf.resource("aws_ecs_service", "beat")
    if beat.get("desired_count") != 1 or beat.get("deployment_maximum_percent") != 100:
        problems.append("ecs service beat: exactly one (desired_count 1, maximum percent 100)")
    if "load_balancer" in tf.resource("aws_ecs_service", "flower"):
        problems.append("ecs service flower: private, no load balancer")
    return problems


def autoscaling_problems(tf: Terraform) -> list[str]:
    problems = []
    target = tf.resource("aws_appautoscaling_target", "worker")
    if not references(target, "aws_ecs_service.worker"):
        problems.append("autoscaling: the target must be the worker service")
    if (
        target.get("min_capacity") != "${var.worker_min_count}"
        or default(tf, "worker_min_count") != 0
    ):
        problems.append("autoscaling: the worker must be able to scale to zero (min 0)")
    policies = tf.of_type("aws_appautoscaling_policy")
    tracking = [p for p in policies.values() if p.get("policy_type") == "TargetTrackingScaling"]
    if not tracking or not all(references(p, "aws_sqs_queue.main") for p in tracking):
        problems.append("autoscaling: target tracking must follow the SQS queue's backlog")
    elif not any(references(p, "RunningTaskCount") for p in tracking):
        problems.append("autoscaling: target tracking must divide the backlog per running task")
    alarms = tf.of_type("aws_cloudwatch_metric_alarm")
    from_zero = [
        a
        for a in alarms.values()
        if references(a, "aws_appautoscaling_policy.")
        and references(a, "ApproximateNumberOfMessagesVisible")
        and references(a, "RunningTaskCount")
    ]
    if not from_zero:
        problems.append("autoscaling: no alarm starts the worker from zero tasks")
    return problems


def alarm_problems(tf: Terraform) -> list[str]:
    alarms = tf.of_type("aws_cloudwatch_metric_alarm")
    wanted = {
        "DLQ not empty": lambda a: (
            references(a.get("dimensions"), "aws_sqs_queue.dead_letter")
            and a.get("metric_name") == "ApproximateNumberOfMessagesVisible"
        ),
        "oldest message age": lambda a: a.get("metric_name") == "ApproximateAgeOfOldestMessage",
        "worker count at max": lambda a: (
            a.get("metric_name") == "RunningTaskCount" and references(a, "var.worker_max_count")
        ),
    }
    problems = [
        f"cloudwatch: no alarm for {what}"
        for what, test in wanted.items()
        if not any(test(a) for a in alarms.values())
    ]
    for name, group in tf.of_type("aws_cloudwatch_log_group").items():
        if "retention_in_days" not in group:
            problems.append(f"cloudwatch: log group {name} without retention")
    return problems


def secret_problems(tf: Terraform) -> list[str]:
    problems = []
    database = tf.data.get(("aws_secretsmanager_secret", "database"))
    if not database or database[1].get("arn") != "${var.database_secret_arn}":
        problems.append("secrets: the database secret must be read from var.database_secret_arn")
    for (type_name, name), (_, body) in tf.resources.items():
        text = json.dumps(body).lower()
        if type_name in {"aws_db_instance", "aws_rds_cluster"} or (
            type_name == "aws_secretsmanager_secret_version" and "database" in text
        ):
            problems.append(f"secrets: {type_name}.{name} lets terraform set a database password")
    for name in tf.variables:
        if "password" in name.lower():
            problems.append(f"secrets: variable {name} passes a password through terraform")
    return problems


def variable_problems(tf: Terraform) -> list[str]:
    problems = []
    for name, body in tf.variables.items():
        if "type" not in body:
            problems.append(f"variable {name}: no type")
        if not str(body.get("description", "")).strip():
            problems.append(f"variable {name}: no description")
    for name, body in tf.outputs.items():
        if not str(body.get("description", "")).strip():
            problems.append(f"output {name}: no description")
    # Variables named like a setting carry that setting: same default as app/settings.py.
    settings = Settings()
    for name, body in tf.variables.items():
        if name in Settings.model_fields and "default" in body:
            expected = getattr(settings, name)
            if body["default"] != expected and str(body["default"]) != str(expected):
                problems.append(
                    f"variable {name}: default {body['default']!r} differs from "
                    f"app/settings.py's {expected!r}"
                )
    return problems


# Which file each AWS service's resources live in (one file per service).
FILE_OF_PREFIX = {
    "aws_ecr_": "ecr.tf",
    "aws_ecs_": "ecs.tf",
    "aws_appautoscaling_": "autoscaling.tf",
    "aws_sqs_": "sqs.tf",
    "aws_s3_": "s3.tf",
    "aws_iam_": "iam.tf",
    "aws_secretsmanager_": "secretsmanager.tf",
    "aws_elasticache_": "elasticache.tf",
    "aws_cloudwatch_": "cloudwatch.tf",
    "aws_sns_": "sns.tf",
    "aws_ssm_": "ssm.tf",
    "aws_lb": "alb.tf",
    "aws_vpc": "vpc.tf",
    "aws_subnet": "vpc.tf",
    "aws_route": "vpc.tf",
    "aws_internet_gateway": "vpc.tf",
    "aws_nat_gateway": "vpc.tf",
    "aws_eip": "vpc.tf",
    "aws_security_group": "vpc.tf",
    "aws_default_security_group": "vpc.tf",
}


def layout_problems(tf: Terraform) -> list[str]:
    problems = []
    for (type_name, name), (file_name, _) in tf.resources.items():
        expected = next((f for p, f in FILE_OF_PREFIX.items() if type_name.startswith(p)), None)
        if expected is None:
            problems.append(f"{type_name}.{name}: no file assigned to its AWS service")
        elif expected != file_name:
            problems.append(f"{type_name}.{name} is in {file_name}, belongs in {expected}")
    return problems


def all_terraform_problems(tf: Terraform) -> list[str]:
    return (
        queue_problems(tf)
        + storage_problems(tf)
        + iam_problems(tf)
        + ecs_service_problems(tf)
        + autoscaling_problems(tf)
        + alarm_problems(tf)
        + secret_problems(tf)
        + variable_problems(tf)
        + layout_problems(tf)
    )
