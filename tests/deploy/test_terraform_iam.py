"""terraform/'s policy documents: the IAM invariants' planted mistakes (a wildcard action,
Resource "*" for a scoped action, the worker without what its health check needs)."""

from __future__ import annotations

import pytest

from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
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
    # A key policy's Resource "*" is that key, but a wildcard action is still one.
    ("kms.tf", '"kms:PutKeyPolicy",', '"kms:*",', "wildcard action 'kms:*'"),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found
