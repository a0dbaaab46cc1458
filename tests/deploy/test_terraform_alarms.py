"""terraform/'s alarms and their topic: the invariants' planted mistakes (a missing alarm, an
alarm that notifies nobody, a topic key CloudWatch may not use)."""

from __future__ import annotations

import pytest

from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "cloudwatch.tf",
        "dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }",
        "dimensions          = local.queue_dimensions",
        "no alarm for DLQ not empty",
    ),
    ("cloudwatch.tf", "retention_in_days = var.log_retention_days", "", "without retention"),
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
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found
