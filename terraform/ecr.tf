# Two repositories: the runtime image (worker, beat, flower) and the small `api` target of the
# Dockerfile. Tags are immutable: a deploy names a commit SHA, and that name can never point at
# different bytes later. Production pulls the image staging tested, by digest (build once,
# promote), through the repository policy below.

resource "aws_ecr_repository" "this" {
  # checkov:skip=CKV_AWS_136: AES256 (ECR-managed) encryption; a customer-managed KMS key adds cost and key policy work for no reader other than ECS.
  name                 = local.name_prefix
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_repository" "api" {
  # checkov:skip=CKV_AWS_136: AES256 (ECR-managed) encryption, as for the runtime repository above.
  name                 = "${local.name_prefix}-api"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

# --- lifecycle -----------------------------------------------------------------------------

# A plain "keep the last N tagged" rule counts pushes, not deploys: N pushes that never reached
# production (branches, failed smoke tests) and the image the services still run is expired,
# and the next task start, a scale-out from zero say, fails to pull it. So the deploy workflow
# adds a tag deployed-<UTC timestamp> to every image that passed a deploy, and the rules below
# lean on ECR's documented evaluation (Amazon ECR User Guide, "Lifecycle policies" and
# "Lifecycle policy properties"):
#   - rules apply in rulePriority order, lowest first, and an image is expired by one rule at most;
#   - an image that matches the tag selection of a higher-priority rule can never be expired by a
#     lower-priority rule (lower rules still count it, they cannot mark it);
#   - a tagPrefixList matches an image when any of its tags starts with the prefix;
#   - count rules keep the newest images by push time and expire the older ones.
# So rule 1 alone decides the fate of every deployed image: the newest ecr_keep_deployed_images
# stay, the running one and its rollback targets among them, whatever else is pushed. Rule 3
# keeps the newest ecr_keep_tagged_images of the rest. Push time orders the deployed images, so
# a rollback to an image older than the last ecr_keep_deployed_images deployed ones is the one
# case this does not cover.
locals {
  ecr_lifecycle_policy = {
    rules = [
      {
        rulePriority = 1
        description  = "Keep the last ${var.ecr_keep_deployed_images} images that passed a deploy (tag deployed-<timestamp>)"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["deployed-"]
          countType     = "imageCountMoreThan"
          countNumber   = var.ecr_keep_deployed_images
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Expire untagged images (failed or superseded pushes) after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the last ${var.ecr_keep_tagged_images} other tagged images"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.ecr_keep_tagged_images
        }
        action = { type = "expire" }
      },
    ]
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy     = jsonencode(local.ecr_lifecycle_policy)
}

resource "aws_ecr_lifecycle_policy" "api" {
  repository = aws_ecr_repository.api.name
  policy     = jsonencode(local.ecr_lifecycle_policy)
}

# --- pulls from other accounts (promotion by digest) ---------------------------------------

# The accounts in ecr_pull_account_ids (production, in staging.tfvars) may read images, nothing
# else; their own IAM policies still decide which of their roles pull (their task execution role).
data "aws_iam_policy_document" "ecr_pull" {
  count = length(var.ecr_pull_account_ids) > 0 ? 1 : 0

  statement {
    sid     = "PullFromOtherAccounts"
    actions = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "AWS"
      identifiers = [for id in var.ecr_pull_account_ids : "arn:aws:iam::${id}:root"]
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = length(var.ecr_pull_account_ids) > 0 ? 1 : 0

  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.ecr_pull[0].json
}

resource "aws_ecr_repository_policy" "api" {
  count = length(var.ecr_pull_account_ids) > 0 ? 1 : 0

  repository = aws_ecr_repository.api.name
  policy     = data.aws_iam_policy_document.ecr_pull[0].json
}
