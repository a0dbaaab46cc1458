"""Spot with an on-demand weight, and ECS's placement failures on the alarm topic (issue 19,
item 13): the invariants on the real stack and on planted mistakes, and terraform's verdict on
an on-demand weight of 0."""

from __future__ import annotations

import pytest

from tests.deploy.checks import TERRAFORM_DIR, load_terraform
from tests.deploy.terraform_checks_placement import matches, placement_event, placement_problems
from tests.deploy.terraform_console import needs_terraform, variable_errors
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "cloudwatch.tf",
        'eventName  = ["SERVICE_TASK_PLACEMENT_FAILURE"]',
        'eventName  = ["SERVICE_TASK_PLACEMENT_FAILURES"]',
        "placement: the rule's pattern misses ECS's placement-failure event",
    ),
    (
        "cloudwatch.tf",
        "      clusterArn = [aws_ecs_cluster.this.arn]\n",
        "",
        "placement: the rule's pattern also matches events it must not",
    ),
    (
        "sns.tf",
        'identifiers = ["events.amazonaws.com"]',
        'identifiers = ["cloudwatch.amazonaws.com"]',
        "placement: the alarm topic's policy must let this rule publish",
    ),
    (
        "kms.tf",
        'identifiers = ["events.amazonaws.com"]',
        'identifiers = ["sns.amazonaws.com"]',
        "placement: the alarm topic's key must let EventBridge encrypt to it",
    ),
    (
        "ecs.tf",
        "weight            = var.worker_on_demand_weight",
        "weight            = 0",
        "FARGATE needs a weight (var.worker_on_demand_weight)",
    ),
]


def test_placement_failures_reach_the_alarm_topic() -> None:
    assert placement_problems(load_terraform()) == []


def test_the_pattern_matcher_reads_eventbridge_patterns_as_eventbridge_does() -> None:
    pattern = {"source": ["aws.ecs"], "detail": {"eventName": ["A", "B"]}}
    assert matches(pattern, {"source": "aws.ecs", "detail": {"eventName": "B", "x": 1}})
    assert not matches(pattern, {"source": "aws.ecs", "detail": {"eventName": "C"}})
    assert not matches(pattern, {"source": "aws.ecs"})
    assert placement_event("X")["detail"]["eventName"] == "X"


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


@needs_terraform
def test_terraform_refuses_a_fleet_without_an_on_demand_weight() -> None:
    assert "worker_on_demand_weight must be at least 1" in variable_errors(
        TERRAFORM_DIR, {"worker_on_demand_weight": 0}
    )
