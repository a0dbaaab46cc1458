"""ECS placement failures reach the alarm topic (cloudwatch.tf, sns.tf, kms.tf): an EventBridge
rule whose pattern matches ECS's SERVICE_TASK_PLACEMENT_FAILURE events of this cluster, its
target the alarm topic, and the topic's policy and key letting EventBridge publish."""

from __future__ import annotations

from typing import Any

from tests.deploy.checks import Terraform, references
from tests.deploy.terraform_checks_iam import document_statements

CLUSTER_ARN = "${aws_ecs_cluster.this.arn}"
RULE = "aws_cloudwatch_event_rule.task_placement_failures"


def placement_event(event_name: str, cluster_arn: str = CLUSTER_ARN) -> dict[str, Any]:
    """An ECS service action event as the ECS developer guide shows it ("Amazon ECS service
    action events"): Fargate Spot without capacity for the worker service."""
    return {
        "version": "0",
        "id": "57c9506e-9d21-294c-d2fe-e8738da7e67d",
        "detail-type": "ECS Service Action",
        "source": "aws.ecs",
        "account": "111122223333",
        "time": "2026-12-07T18:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ecs:us-east-1:111122223333:service/image-processor/worker"],
        "detail": {
            "eventType": "WARN",
            "eventName": event_name,
            "clusterArn": cluster_arn,
            "capacityProviderArns": [
                "arn:aws:ecs:us-east-1:111122223333:capacity-provider/FARGATE_SPOT"
            ],
            "createdAt": "2026-12-07T18:00:00.000Z",
            "reason": "RESOURCE:FARGATE",
        },
    }


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching for patterns of exact values: every key of the pattern is in the
    event; a list matches when the event's value (or one of its values) is in it."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        actual = event[key]
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or not matches(expected, actual):
                return False
            continue
        values = actual if isinstance(actual, list) else [actual]
        if not any(value in expected for value in values):
            return False
    return True


def placement_problems(tf: Terraform) -> list[str]:
    problems = []
    pattern = tf.locals.get("task_placement_failure_pattern", {})
    if not matches(pattern, placement_event("SERVICE_TASK_PLACEMENT_FAILURE")):
        problems.append("placement: the rule's pattern misses ECS's placement-failure event")
    for other in (
        placement_event("SERVICE_STEADY_STATE"),
        placement_event("SERVICE_TASK_PLACEMENT_FAILURE", "arn:aws:ecs:::cluster/another"),
    ):
        if matches(pattern, other):
            problems.append("placement: the rule's pattern also matches events it must not")
    rule = tf.of_type("aws_cloudwatch_event_rule").get("task_placement_failures", {})
    if rule.get("event_pattern") != "${jsonencode(local.task_placement_failure_pattern)}":
        problems.append("placement: the rule must use local.task_placement_failure_pattern")
    target = tf.of_type("aws_cloudwatch_event_target").get("task_placement_failures", {})
    if target.get("rule") != f"${{{RULE}.name}}" or target.get("arn") != (
        "${aws_sns_topic.alarms.arn}"
    ):
        problems.append("placement: the rule's target must be the alarm topic")
    return problems + publisher_problems(tf)


def publisher_problems(tf: Terraform) -> list[str]:
    """EventBridge may publish to the topic (for this rule) and use its key."""
    problems = []
    policy = tf.of_type("aws_sns_topic_policy").get("alarms", {})
    if policy.get("arn") != "${aws_sns_topic.alarms.arn}" or not any(
        _from_events(statement)
        and "sns:Publish" in statement.get("actions", [])
        and references(statement.get("condition"), f"{RULE}.arn")
        for statement in document_statements(tf, policy.get("policy"))
    ):
        problems.append("placement: the alarm topic's policy must let this rule publish")
    key = tf.of_type("aws_kms_key").get("alarms", {})
    if not any(
        _from_events(statement)
        and {"kms:Decrypt", "kms:GenerateDataKey"} <= set(statement.get("actions", []))
        for statement in document_statements(tf, key.get("policy"))
    ):
        problems.append("placement: the alarm topic's key must let EventBridge encrypt to it")
    return problems


def _from_events(statement: dict[str, Any]) -> bool:
    return any(
        p.get("type") == "Service" and "events.amazonaws.com" in p.get("identifiers", [])
        for p in statement.get("principals", [])
    )
