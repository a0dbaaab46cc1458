"""The alarms (cloudwatch.tf) and the topic they notify (sns.tf, its key in kms.tf): every
failure the fleet can have raises an alarm, and every alarm reaches the topic."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from tests.deploy.checks import Terraform, block, references
from tests.deploy.terraform_checks_iam import document_statements


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


def alarm_problems(tf: Terraform) -> list[str]:
    alarms = {
        name: with_local_dimensions(tf, alarm)
        for name, alarm in tf.of_type("aws_cloudwatch_metric_alarm").items()
    }
    problems = [
        f"cloudwatch: no alarm for {what}"
        for what, test in WANTED_ALARMS.items()
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


# Each alarm the stack must have, by what it watches (dimensions resolved from locals).
WANTED_ALARMS: dict[str, Callable[[dict[str, Any]], bool]] = {
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
