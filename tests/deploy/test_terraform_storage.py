"""terraform/'s queues, bucket and image repositories: the invariants' planted mistakes, and
the ECR lifecycle evaluated by terraform against ECR's documented rule order."""

from __future__ import annotations

import pytest

from tests.deploy.conftest import replace_in
from tests.deploy.terraform_checks_storage import EcrImage, ecr_expired, ecr_lifecycle_problems
from tests.deploy.terraform_console import needs_terraform
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "sqs.tf",
        "deadLetterTargetArn = aws_sqs_queue.dead_letter.arn",
        'deadLetterTargetArn = "arn:aws:sqs:us-east-1:1:other"',
        "redrive_policy does not point",
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


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


# --- the ECR lifecycle, evaluated by terraform itself ---------------------------------------


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
    image_a = EcrImage("A", 10, ("beta-1", "prod-1"))
    image_b = EcrImage("B", 9, ("beta-2", "prod-2"))
    assert ecr_expired(rules, [image_a, image_b, EcrImage("C", 8, ("beta-3",))]) == {"A"}
    image_c = EcrImage("C", 8, ("beta-3", "prod-3"))
    assert ecr_expired(rules, [image_a, image_b, image_c]) == {"A", "B"}


@needs_terraform
def test_ecr_lifecycle_keeps_the_deployed_images() -> None:
    assert ecr_lifecycle_problems() == []


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
    found = ecr_lifecycle_problems(root / "terraform")
    assert any(
        p.startswith("ecr lifecycle this: expires ['deployed-0'") and "the running one" in p
        for p in found
    ), found
