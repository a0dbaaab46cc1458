"""The deployment invariants, as functions that return a list of problems.

Each test runs a check on the real files and expects no problem, then on a copy with one
planted mistake and expects the problem to be named, so a check that can never fail is caught.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from pydantic import AliasChoices

from app.settings import Settings
from app.time_limits import time_limit_problems

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


def key_policy_documents(tf: Terraform) -> set[str]:
    """Policy documents attached to a KMS key: there Resource "*" means that key, nothing else."""
    return {
        name
        for (type_name, name) in tf.data
        if type_name == "aws_iam_policy_document"
        and any(
            references(key.get("policy"), f"data.aws_iam_policy_document.{name}.")
            for key in tf.of_type("aws_kms_key").values()
        )
    }


def iam_problems(tf: Terraform) -> list[str]:
    problems = []
    key_policies = key_policy_documents(tf)
    for document, statement in policy_statements(tf):
        actions = statement.get("actions", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("effect", "Allow") != "Allow":
            continue
        for action in actions:
            if "*" in action:
                problems.append(f"iam {document}: wildcard action {action!r}")
        resources = statement.get("resources", [])
        if document in key_policies:
            continue
        if resources == ["*"] and not set(actions) <= UNSCOPED_ACTIONS:
            scoped = sorted(set(actions) - UNSCOPED_ACTIONS)
            problems.append(f"iam {document}: Resource '*' for resource-scoped actions {scoped}")
    worker_actions = {
        action
        for document, statement in policy_statements(tf)
        if document == "worker_task"
        for action in statement.get("actions", [])
    }
    for needed in ("sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"):
        if needed not in worker_actions:
            problems.append(
                f"iam worker_task: {needed} missing (the worker and its health check use it)"
            )
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
    limits = {
        "soft": default(tf, "task_soft_time_limit"),
        "hard": default(tf, "task_time_limit"),
        "visibility": default(tf, "sqs_visibility_timeout"),
    }
    if not all(isinstance(value, int) for value in limits.values()):
        problems.append("sqs: the time limits and the visibility timeout need numeric defaults")
    else:
        # The one rule (app/time_limits.py) that settings and the worker's start-up check apply.
        problems += [f"sqs: terraform's defaults: {p}" for p in time_limit_problems(**limits)]
        if limits["visibility"] <= settings.task_time_limit:
            problems.append(
                f"sqs: visibility timeout {limits['visibility']} <= the Celery hard time limit "
                f"{settings.task_time_limit} of app/settings.py"
            )
    for name, body in (("main", main), ("dead_letter", dead_letter)):
        if body.get("sqs_managed_sse_enabled") is not True and "kms_master_key_id" not in body:
            problems.append(f"sqs: queue {name} without server-side encryption")
    return problems


# The runtime image (worker, beat, flower) and the Dockerfile's small `api` target.
ECR_REPOSITORIES = ("this", "api")
ECR_PULL_ACTIONS = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
}
DEPLOYED_TAG_PREFIX = "deployed-"


def ecr_problems(tf: Terraform) -> list[str]:
    problems = []
    repositories = tf.of_type("aws_ecr_repository")
    for name in ECR_REPOSITORIES:
        if name not in repositories:
            problems.append(f"ecr: no repository aws_ecr_repository.{name}")
            continue
        ecr = repositories[name]
        if ecr.get("image_tag_mutability") != "IMMUTABLE":
            problems.append(f"ecr {name}: image tags must be IMMUTABLE")
        if block(ecr, "image_scanning_configuration").get("scan_on_push") is not True:
            problems.append(f"ecr {name}: scan_on_push must be on")
        lifecycles = [
            body
            for body in tf.of_type("aws_ecr_lifecycle_policy").values()
            if references(body.get("repository"), f"aws_ecr_repository.{name}.")
        ]
        if not lifecycles or not all(
            body.get("policy") == "${jsonencode(local.ecr_lifecycle_policy)}" for body in lifecycles
        ):
            problems.append(f"ecr {name}: lifecycle policy must be local.ecr_lifecycle_policy")
        pull_policies = [
            body
            for body in tf.of_type("aws_ecr_repository_policy").values()
            if references(body.get("repository"), f"aws_ecr_repository.{name}.")
        ]
        if not pull_policies or not all(
            references(body.get("count"), "var.ecr_pull_account_ids") for body in pull_policies
        ):
            problems.append(
                f"ecr {name}: no repository policy for var.ecr_pull_account_ids "
                "(production pulls the image staging tested)"
            )
    problems += ecr_pull_policy_problems(tf)
    problems += ecr_lifecycle_shape_problems(tf.locals.get("ecr_lifecycle_policy"))
    if default(tf, "ecr_keep_tagged_images") != 10:
        problems.append("ecr: keep the last 10 tagged images")
    return problems


def ecr_pull_policy_problems(tf: Terraform) -> list[str]:
    """Other accounts may pull (and only pull) from the repositories."""
    problems = []
    for body in tf.of_type("aws_ecr_repository_policy").values():
        statements = document_statements(tf, body.get("policy"))
        if not statements:
            problems.append("ecr: a repository policy not built from a policy document")
        for statement in statements:
            actions = set(statement.get("actions", []))
            if actions != ECR_PULL_ACTIONS:
                problems.append(f"ecr: repository policy grants {sorted(actions)}, not pulls only")
            if not references(statement.get("principals"), "var.ecr_pull_account_ids"):
                problems.append("ecr: repository policy principals must be ecr_pull_account_ids")
    return problems


def document_statements(tf: Terraform, reference: Any) -> list[dict[str, Any]]:
    """The statements of the policy document an argument names (data.aws_iam_policy_document)."""
    named = re.search(r"data\.aws_iam_policy_document\.(\w+)", str(reference))
    document = tf.data.get(("aws_iam_policy_document", named.group(1))) if named else None
    return document[1].get("statement", []) if document else []


def ecr_lifecycle_shape_problems(policy: Any) -> list[str]:
    """The rules in their order (ecr.tf says why): deployed images first, then the rest."""
    if not isinstance(policy, dict) or not policy.get("rules"):
        return ["ecr: no local.ecr_lifecycle_policy with rules"]
    rules = sorted(policy["rules"], key=lambda rule: rule.get("rulePriority", 0))
    first = rules[0].get("selection", {})
    problems = []
    if (
        first.get("tagPrefixList") != [DEPLOYED_TAG_PREFIX]
        or first.get("countNumber") != "${var.ecr_keep_deployed_images}"
    ):
        problems.append(
            "ecr: the first lifecycle rule must keep the last ecr_keep_deployed_images images "
            f"tagged {DEPLOYED_TAG_PREFIX}* (a deployed image must never expire first)"
        )
    if not any(rule.get("selection", {}).get("tagStatus") == "untagged" for rule in rules):
        problems.append("ecr: lifecycle must expire untagged images")
    return problems


def storage_problems(tf: Terraform) -> list[str]:
    problems = ecr_problems(tf)
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
    return problems + capacity_problems(tf)


def capacity_problems(tf: Terraform) -> list[str]:
    """Workers on Fargate Spot beyond an on-demand base; every other service on demand."""
    problems = []
    providers = tf.resource("aws_ecs_cluster_capacity_providers", "this")
    if not {"FARGATE", "FARGATE_SPOT"} <= set(providers.get("capacity_providers", [])):
        problems.append("ecs cluster: capacity providers must include FARGATE and FARGATE_SPOT")
    for name, body in tf.of_type("aws_ecs_service").items():
        strategy = {
            item.get("capacity_provider"): item
            for item in body.get("capacity_provider_strategy", [])
        }
        if name != "worker":
            if body.get("launch_type") != "FARGATE" or strategy:
                problems.append(f"ecs service {name}: runs on on-demand Fargate (launch_type)")
            continue
        spot, on_demand = strategy.get("FARGATE_SPOT", {}), strategy.get("FARGATE", {})
        if "launch_type" in body or not spot.get("weight"):
            problems.append(
                "ecs service worker: no Fargate Spot (a capacity_provider_strategy with "
                "FARGATE_SPOT weight > 0 instead of launch_type)"
            )
        if on_demand.get("base") != "${var.worker_on_demand_base}" or on_demand.get("weight"):
            problems.append(
                "ecs service worker: FARGATE must carry the on-demand base "
                "(var.worker_on_demand_base, weight 0), so every task beyond it runs on Spot"
            )
        if strategy and body.get("force_new_deployment") is not True:
            problems.append(
                "ecs service worker: force_new_deployment must be true to change its strategy"
            )
    if default(tf, "worker_on_demand_base") != 1:
        problems.append("ecs: worker_on_demand_base defaults to 1 (one on-demand worker)")
    return problems


def ingress_rules_on_port(tf: Terraform, port: int) -> dict[str, dict[str, Any]]:
    """Ingress rules that open `port` (ip_protocol "-1" opens every port)."""
    found = {}
    for name, rule in tf.of_type("aws_vpc_security_group_ingress_rule").items():
        low, high = rule.get("from_port"), rule.get("to_port")
        every_port = str(rule.get("ip_protocol")) == "-1"
        if every_port or (isinstance(low, int) and isinstance(high, int) and low <= port <= high):
            found[name] = rule
    return found


def flower_problems(tf: Terraform) -> list[str]:
    """Flower only through its internal load balancer, over HTTPS, from the allowed CIDRs."""
    problems = []
    balancer = tf.of_type("aws_lb").get("flower", {})
    if balancer.get("internal") is not True or not references(balancer, "aws_subnet.private"):
        problems.append(
            "flower: needs an internal load balancer (aws_lb.flower) in private subnets"
        )
    if balancer.get("security_groups") != ["${aws_security_group.flower_alb.id}"]:
        problems.append("flower: its load balancer must use aws_security_group.flower_alb")
    listeners = [
        body
        for body in tf.of_type("aws_lb_listener").values()
        if references(body.get("load_balancer_arn"), "aws_lb.flower.")
    ]
    if not listeners:
        problems.append("flower: its load balancer has no listener")
    for listener in listeners:
        if (
            listener.get("protocol") != "HTTPS"
            or listener.get("ssl_policy") != "ELBSecurityPolicy-TLS13-1-2-2021-06"
            or listener.get("certificate_arn") != "${var.flower_certificate_arn}"
        ):
            problems.append(
                "flower: every listener of its load balancer must be HTTPS (TLS 1.3 policy, "
                "var.flower_certificate_arn): basic auth must not cross the network in clear"
            )
    target = tf.of_type("aws_lb_target_group").get("flower", {})
    check = block(target, "health_check")
    if target.get("port") != 5555 or check.get("path") != "/healthcheck":
        problems.append("flower: target group on 5555, health check /healthcheck")
    if check.get("matcher") != "401":
        problems.append(
            "flower: health check matcher must be 401 (Flower refuses a request without "
            "credentials; a 200 would mean it serves without authentication)"
        )
    service = tf.resource("aws_ecs_service", "flower")
    attached = block(service, "load_balancer")
    if not references(attached.get("target_group_arn"), "aws_lb_target_group.flower.") or (
        attached.get("container_port") != 5555
    ):
        problems.append("flower: the service must sit behind aws_lb_target_group.flower on 5555")
    groups = block(service, "network_configuration").get("security_groups")
    if groups != ["${aws_security_group.flower.id}"]:
        problems.append("flower: the service must use its own aws_security_group.flower only")
    for name, rule in ingress_rules_on_port(tf, 5555).items():
        if any(key in rule for key in ("cidr_ipv4", "cidr_ipv6", "prefix_list_id")):
            problems.append(f"flower: ingress {name} leaves port 5555 open to network ranges")
        elif rule.get("referenced_security_group_id") != "${aws_security_group.flower_alb.id}":
            problems.append(f"flower: ingress {name} reaches 5555 from outside Flower's balancer")
    for name, rule in tf.of_type("aws_vpc_security_group_ingress_rule").items():
        if rule.get("security_group_id") == "${aws_security_group.flower_alb.id}" and (
            rule.get("from_port") != 443 or rule.get("to_port") != 443
        ):
            problems.append(f"flower: its load balancer accepts more than HTTPS ({name})")
    if not references(tf.outputs.get("flower_url"), "aws_lb.flower.dns_name"):
        problems.append("flower: no output flower_url")
    return problems


def alarm_topic_problems(tf: Terraform) -> list[str]:
    """CloudWatch can publish to the alarm topic: a key of this stack whose policy lets it."""
    topic = tf.resource("aws_sns_topic", "alarms")
    key_id = str(topic.get("kms_master_key_id", ""))
    match = re.fullmatch(r"\$\{aws_kms_key\.(\w+)\.(?:arn|id|key_id)\}", key_id)
    if not match:
        return [
            f"sns: the alarm topic's key {key_id!r} is not a customer-managed key of this stack; "
            "an AWS-managed key's policy cannot grant CloudWatch, so alarms never arrive"
        ]
    key = tf.of_type("aws_kms_key").get(match.group(1), {})
    problems = []
    if key.get("enable_key_rotation") is not True:
        problems.append("kms: the alarm topic's key must rotate (enable_key_rotation)")
    statements = document_statements(tf, key.get("policy"))
    if not any(grants_cloudwatch(statement) for statement in statements):
        problems.append(
            "kms: the alarm topic's key policy does not let CloudWatch (cloudwatch.amazonaws.com, "
            "aws:SourceAccount) kms:Decrypt and kms:GenerateDataKey: alarms never arrive"
        )
    if not any(
        references(statement.get("principals"), ":root")
        and "kms:PutKeyPolicy" in statement.get("actions", [])
        for statement in statements
    ):
        problems.append("kms: the account root must administer the key (kms:PutKeyPolicy)")
    return problems


def grants_cloudwatch(statement: dict[str, Any]) -> bool:
    """What SNS asks of CloudWatch publishing to an encrypted topic, for this account only."""
    principals = statement.get("principals", [])
    to_cloudwatch = any(
        p.get("type") == "Service" and "cloudwatch.amazonaws.com" in p.get("identifiers", [])
        for p in principals
    )
    actions = statement.get("actions", [])
    allowed = all(
        any(fnmatch.fnmatchcase(needed, action) for action in actions)
        for needed in ("kms:Decrypt", "kms:GenerateDataKey")
    )
    conditioned = any(
        c.get("variable") == "aws:SourceAccount" and c.get("values") == ["${local.account_id}"]
        for c in statement.get("condition", [])
    )
    return statement.get("effect", "Allow") == "Allow" and to_cloudwatch and allowed and conditioned


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
    alarms = {
        name: with_local_dimensions(tf, alarm)
        for name, alarm in tf.of_type("aws_cloudwatch_metric_alarm").items()
    }
    wanted = {
        "DLQ not empty": lambda a: (
            references(a.get("dimensions"), "aws_sqs_queue.dead_letter")
            and a.get("metric_name") == "ApproximateNumberOfMessagesVisible"
        ),
        "oldest message age": lambda a: a.get("metric_name") == "ApproximateAgeOfOldestMessage",
        "worker count at max": lambda a: (
            a.get("metric_name") == "RunningTaskCount" and references(a, "var.worker_max_count")
        ),
        # A singleton scheduler: no datapoint is no beat, so missing data breaches.
        "beat not running": lambda a: (
            alarm_metric(a, "ECS/ContainerInsights", "RunningTaskCount")
            and references(a, "aws_ecs_service.beat.name")
            and a.get("comparison_operator") == "LessThanThreshold"
            and a.get("threshold") == 1
            and a.get("treat_missing_data") == "breaching"
        ),
        "API load balancer 5xx": lambda a: (
            alarm_metric(a, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")
            and alarm_metric(a, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")
            and references(a, "aws_lb.api.arn_suffix")
            and a.get("threshold") == "${var.api_5xx_alarm_threshold}"
        ),
        "API unhealthy hosts": lambda a: (
            alarm_metric(a, "AWS/ApplicationELB", "UnHealthyHostCount")
            and targets_group(a, "api")
            and a.get("comparison_operator") == "GreaterThanThreshold"
            and a.get("threshold") == 0
        ),
        "API without a healthy host": lambda a: (
            alarm_metric(a, "AWS/ApplicationELB", "HealthyHostCount")
            and targets_group(a, "api")
            and a.get("comparison_operator") == "LessThanThreshold"
        ),
        "Flower unhealthy": lambda a: (
            (
                alarm_metric(a, "AWS/ApplicationELB", "HealthyHostCount")
                or alarm_metric(a, "AWS/ApplicationELB", "UnHealthyHostCount")
            )
            and targets_group(a, "flower")
        ),
    }
    problems = [
        f"cloudwatch: no alarm for {what}"
        for what, test in wanted.items()
        if not any(test(a) for a in alarms.values())
    ]
    for name, alarm in alarms.items():
        scaling = references(alarm.get("alarm_actions"), "aws_appautoscaling_policy.")
        if not scaling and alarm.get("alarm_actions") != "${local.alarm_actions}":
            problems.append(f"cloudwatch: alarm {name} does not notify the alarm topic")
    for name, group in tf.of_type("aws_cloudwatch_log_group").items():
        if "retention_in_days" not in group:
            problems.append(f"cloudwatch: log group {name} without retention")
    return problems


def alarm_metric(alarm: dict[str, Any], namespace: str, metric_name: str) -> bool:
    """The alarm reads this metric, directly or in one of its metric queries."""
    metrics = [alarm] + [block(query, "metric") for query in alarm.get("metric_query", [])]
    return any(
        m.get("namespace") == namespace and m.get("metric_name") == metric_name for m in metrics
    )


def targets_group(alarm: dict[str, Any], name: str) -> bool:
    """A target-group alarm needs both dimensions: the group and its load balancer."""
    dimensions = alarm.get("dimensions", {})
    return isinstance(dimensions, dict) and (
        dimensions.get("TargetGroup") == f"${{aws_lb_target_group.{name}.arn_suffix}}"
        and dimensions.get("LoadBalancer") == f"${{aws_lb.{name}.arn_suffix}}"
    )


def with_local_dimensions(tf: Terraform, alarm: dict[str, Any]) -> dict[str, Any]:
    """The alarm with `dimensions = local.x` replaced by the local's value."""

    def resolve(body: dict[str, Any]) -> dict[str, Any]:
        named = re.fullmatch(r"\$\{local\.(\w+)\}", str(body.get("dimensions")))
        return {**body, "dimensions": tf.locals.get(named.group(1))} if named else body

    queries = [
        {**query, "metric": [resolve(block(query, "metric"))]}
        for query in alarm.get("metric_query", [])
    ]
    return {**resolve(alarm), "metric_query": queries}


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
    "aws_kms_": "kms.tf",
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
        + alarm_topic_problems(tf)
        + flower_problems(tf)
        + secret_problems(tf)
        + variable_problems(tf)
        + layout_problems(tf)
    )


# --- terraform, evaluated by terraform itself ----------------------------------------------
#
# `terraform console` needs no provider and no init for a directory of variables and locals,
# so the real expressions (variable validations, scaling steps, lifecycle rules) are evaluated
# by terraform, never re-implemented here. Only locals that reference variables can be copied
# out this way; ecr.tf and autoscaling.tf keep theirs so.

TERRAFORM = shutil.which("terraform")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class TerraformRefused(Exception):
    """terraform answered with errors (a variable validation that failed, say)."""


def locals_text(path: Path) -> str:
    """Every top-level `locals { ... }` block of a file, as written."""
    lines, found, depth = path.read_text().splitlines(), [], 0
    for line in lines:
        if depth == 0 and not re.match(r"locals\s*\{", line):
            continue
        found.append(line)
        depth += line.count("{") - line.count("}")
    return "\n".join(found) + "\n"


def terraform_console(
    directory: Path,
    expression: str,
    values: dict[str, Any] | None = None,
    locals_from: tuple[str, ...] = (),
    environment: str | None = None,
) -> Any:
    """`expression`'s value, by `terraform console` over a copy of `directory`'s variables.tf
    and the locals blocks of the files `locals_from`, with the variables of
    environments/<environment>.tfvars (if given), then `values`, set."""
    assert TERRAFORM, "no terraform binary"
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        shutil.copy(directory / "variables.tf", root / "variables.tf")
        for name in locals_from:
            (root / f"locals_{name}").write_text(locals_text(directory / name))
        arguments = []
        if environment:
            arguments.append(f"-var-file={directory / 'environments' / environment}.tfvars")
        else:
            values = {"environment": "staging", **(values or {})}
        (root / "values.tfvars.json").write_text(json.dumps(values or {}))
        result = subprocess.run(
            [TERRAFORM, "console", *arguments, "-var-file=values.tfvars.json"],
            cwd=root,
            input=f"jsonencode({expression})\n",
            env={**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_INPUT": "0"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    errors = ANSI_ESCAPE.sub("", result.stderr)
    if "Error:" in errors or result.returncode != 0:
        raise TerraformRefused(re.sub(r"[│╷╵]\s?", "", errors))
    return json.loads(json.loads(result.stdout.strip()))


def variable_errors(directory: Path, values: dict[str, Any]) -> str:
    """terraform's verdict on variable values: the text of the validations they fail, or ""."""
    try:
        terraform_console(directory, "null", values)
    except TerraformRefused as refused:
        return " ".join(str(refused).split())
    return ""


# --- the worker's scale-out from zero ------------------------------------------------------


def hcl_expression(value: Any) -> str:
    """A value as python-hcl2 parsed it, written back as an HCL expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str) and one_interpolation(value):
        return value[2:-1]
    return json.dumps(value)


def one_interpolation(text: str) -> bool:
    """`text` is a single "${...}" (whose value keeps its type), not a longer template."""
    if not text.startswith("${"):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and index > 1:
            return index == len(text) - 1
    return False


def step_adjustments_expression(policy: dict[str, Any]) -> str:
    """An HCL list of {lower, upper, tasks}: the policy's step adjustments, static or dynamic."""

    def step(body: dict[str, Any]) -> str:
        fields = {
            "lower": body.get("metric_interval_lower_bound"),
            "upper": body.get("metric_interval_upper_bound"),
            "tasks": body.get("scaling_adjustment"),
        }
        return "{" + ", ".join(f"{k} = {hcl_expression(v)}" for k, v in fields.items()) + "}"

    configuration = block(policy, "step_scaling_policy_configuration")
    lists = ["[" + ", ".join(step(b) for b in configuration.get("step_adjustment", [])) + "]"]
    for dynamic in configuration.get("dynamic", []):
        generator = dynamic.get("step_adjustment")
        if generator:
            iterator = generator.get("iterator", "step_adjustment")
            each = hcl_expression(generator["for_each"])
            items = f"[for key, value in {each} : {{key = key, value = value}}]"
            lists.append(f"[for {iterator} in {items} : {step(generator['content'][0])}]")
    return f"concat({', '.join(lists)})"


def step_capacity(steps: list[dict[str, Any]], breach: float) -> int | None:
    """The adjustment a step policy applies when the metric is `breach` above its threshold:
    bounds relative to the threshold, lower bound inclusive, upper bound exclusive (Application
    Auto Scaling's rule for a metric above the threshold); None when no step covers it."""
    for candidate in steps:
        lower = -math.inf if candidate["lower"] is None else float(candidate["lower"])
        upper = math.inf if candidate["upper"] is None else float(candidate["upper"])
        if lower <= breach < upper:
            return int(candidate["tasks"])
    return None


def scale_out_from_zero_problems(
    directory: Path = TERRAFORM_DIR,
    values: dict[str, Any] | None = None,
    environment: str | None = None,
) -> list[str]:
    """Waiting messages at zero tasks start min(max, ceil(waiting / target)) tasks."""
    tf = load_terraform(directory)
    policy = tf.resource("aws_appautoscaling_policy", "worker_scale_out_from_zero")
    alarm = tf.resource("aws_cloudwatch_metric_alarm", "worker_work_waiting_at_zero")
    evaluated = terraform_console(
        directory,
        "{target = var.worker_backlog_per_task_target, most = var.worker_max_count, "
        f"fewest = var.worker_min_count, steps = {step_adjustments_expression(policy)}}}",
        values,
        locals_from=("autoscaling.tf",),
        environment=environment,
    )
    target, most, fewest = evaluated["target"], evaluated["most"], evaluated["fewest"]
    steps, problems = evaluated["steps"], []
    if len(steps) > 20:
        problems.append(f"autoscaling: {len(steps)} steps; Application Auto Scaling allows 20")
    for waiting in sorted({1, target, target + 1, 101, 5 * target, 100 * target}):
        chosen = step_capacity(steps, waiting - alarm.get("threshold", 1))
        started = None if chosen is None else max(fewest, min(most, chosen))
        expected = min(most, math.ceil(waiting / target))
        if started != expected:
            problems.append(
                f"autoscaling: {waiting} waiting messages start {started} tasks from zero, "
                f"not {expected} (one per {target} waiting messages, at most {most})"
            )
    return problems


# --- ECR lifecycle -------------------------------------------------------------------------


@dataclass(frozen=True)
class EcrImage:
    name: str
    pushed_days_ago: float
    tags: tuple[str, ...] = ()


def _selected(selection: dict[str, Any], image: EcrImage) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    prefixes = selection.get("tagPrefixList")
    if prefixes is not None:
        return bool(image.tags) and all(
            any(tag.startswith(p) for tag in image.tags) for p in prefixes
        )
    patterns = selection.get("tagPatternList", [])
    return bool(image.tags) and all(
        any(fnmatch.fnmatchcase(tag, p) for tag in image.tags) for p in patterns
    )


def ecr_expired(policy: dict[str, Any], images: list[EcrImage]) -> set[str]:
    """The images an ECR lifecycle policy expires, by ECR's documented evaluation: rules in
    rulePriority order; an image matched by a higher-priority rule's tag selection is never
    expired by a lower-priority rule, which still counts it; counts keep the newest pushes."""
    expired: set[str] = set()
    claimed: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        matched = sorted(
            (image for image in images if _selected(selection, image)),
            key=lambda image: image.pushed_days_ago,
        )
        if selection["countType"] == "imageCountMoreThan":
            beyond = matched[selection["countNumber"] :]
        else:  # sinceImagePushed, in days
            beyond = [i for i in matched if i.pushed_days_ago > selection["countNumber"]]
        expired |= {image.name for image in beyond if image.name not in claimed}
        claimed |= {image.name for image in matched}
    return expired


def ecr_lifecycle_problems(
    directory: Path = TERRAFORM_DIR, values: dict[str, Any] | None = None
) -> list[str]:
    """The deployed images survive any number of later pushes; the rest is cleaned up."""
    tf = load_terraform(directory)
    problems = []
    for name, body in sorted(tf.of_type("aws_ecr_lifecycle_policy").items()):
        policy = json.loads(
            terraform_console(directory, hcl_expression(body["policy"]), values, ("ecr.tf",))
        )
        keep = terraform_console(directory, "var.ecr_keep_deployed_images", values)
        # The running image was deployed last; the ones before it are its rollback targets.
        deployed = [
            EcrImage(f"deployed-{n}", 30 + n, (f"sha{n}", f"{DEPLOYED_TAG_PREFIX}2025-01-{n:02}"))
            for n in range(keep + 1)
        ]
        # Then many pushes that never passed a deploy, some untagged.
        later = [EcrImage(f"pushed-{n}", n / 2, (f"branch{n}",)) for n in range(1, 50)]
        untagged = [EcrImage("untagged-old", 3), EcrImage("untagged-new", 0.5)]
        expired = ecr_expired(policy, deployed + later + untagged)
        lost = sorted(i.name for i in deployed[:keep] if i.name in expired)
        if lost:
            problems.append(
                f"ecr lifecycle {name}: expires {lost}, among the last {keep} deployed images "
                "(the running one first), after 49 later pushes"
            )
        if deployed[keep].name not in expired:
            problems.append(f"ecr lifecycle {name}: keeps more than {keep} deployed images")
        if "untagged-old" not in expired or "untagged-new" in expired:
            problems.append(f"ecr lifecycle {name}: untagged images must expire after a day")
        if not any(i.name in expired for i in later):
            problems.append(f"ecr lifecycle {name}: never expires an undeployed tagged image")
    return problems
