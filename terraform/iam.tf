# Three roles, each with only what its holder does. No action wildcards; every statement names
# its resources, except the few actions AWS does not scope to a resource (commented inline).
#   task_exec  ECS itself, at task start: pull the image, write logs, read the secrets in `secrets`
#   tasks      the application: the queue (incl. GetQueueUrl/GetQueueAttributes for the health
#              check), the images prefix in S3, the database secret
#   deploy     GitHub Actions (OIDC): push the image, register task definitions, update services,
#              run the smoke test

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- execution role ------------------------------------------------------------------------

resource "aws_iam_role" "task_exec" {
  name               = "${local.name_prefix}-task-exec"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task_exec" {
  statement {
    sid = "EcrAuth"
    # ecr:GetAuthorizationToken is not resource-scoped in IAM; "*" is the only valid resource.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.service : "${group.arn}:*"]
  }

  statement {
    sid     = "ReadContainerSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      data.aws_secretsmanager_secret.api_key.arn,
      data.aws_secretsmanager_secret.flower_basic_auth.arn,
      aws_secretsmanager_secret.events_broker_url.arn,
    ]
  }

  dynamic "statement" {
    for_each = length(var.secrets_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptContainerSecrets"
      actions   = ["kms:Decrypt"]
      resources = var.secrets_kms_key_arns
    }
  }
}

resource "aws_iam_role_policy" "task_exec" {
  name   = "pull-log-secrets"
  role   = aws_iam_role.task_exec.id
  policy = data.aws_iam_policy_document.task_exec.json
}

# --- task role -----------------------------------------------------------------------------

resource "aws_iam_role" "tasks" {
  name               = "${local.name_prefix}-tasks"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "tasks" {
  statement {
    sid = "UseTaskQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    resources = [aws_sqs_queue.main.arn]
  }

  statement {
    sid = "InspectDeadLetterQueue"
    # The worker health check and the API's deep health look the DLQ up by name and read its depth.
    actions   = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  statement {
    sid       = "ReadWriteImages"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.images.arn}/${var.s3_images_prefix}*"]
  }

  statement {
    sid = "ReadListingImports"
    # A listing import copies listings/<id>/... into the images prefix.
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.images.arn}/listings/*"]
  }

  statement {
    sid       = "ListImagePrefixes"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.images.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.s3_images_prefix}*", "listings/*"]
    }
  }

  statement {
    sid       = "ReadDatabaseCredentials"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [data.aws_secretsmanager_secret.database.arn]
  }

  dynamic "statement" {
    for_each = length(var.secrets_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptDatabaseCredentials"
      actions   = ["kms:Decrypt"]
      resources = var.secrets_kms_key_arns
    }
  }
}

resource "aws_iam_role_policy" "tasks" {
  name   = "queue-images-database"
  role   = aws_iam_role.tasks.id
  policy = data.aws_iam_policy_document.tasks.json
}

# --- deploy role (GitHub Actions, OIDC) ----------------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == "" ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

locals {
  github_oidc_provider_arn = (
    var.github_oidc_provider_arn != "" ? var.github_oidc_provider_arn : aws_iam_openid_connect_provider.github[0].arn
  )
}

data "aws_iam_policy_document" "deploy_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only jobs bound to this GitHub environment (staging or production, the latter behind
    # a required reviewer) can assume this environment's role.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name               = "${local.name_prefix}-deploy"
  assume_role_policy = data.aws_iam_policy_document.deploy_assume.json
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid = "EcrAuthAndTaskDefinitions"
    # None of these is resource-scoped in IAM; "*" is the only valid resource.
    actions   = ["ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid = "PushImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid     = "UpdateServices"
    actions = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = [
      aws_ecs_service.worker.id,
      aws_ecs_service.beat.id,
      aws_ecs_service.flower.id,
      aws_ecs_service.api.id,
    ]
  }

  statement {
    sid     = "RunMigrationAndSmokeTest"
    actions = ["ecs:RunTask"]
    # Migrations run as a one-off api task (command `migrate`), the smoke test as a worker task.
    resources = [
      "arn:aws:ecs:${var.aws_region}:${local.account_id}:task-definition/${local.name_prefix}-api:*",
      "arn:aws:ecs:${var.aws_region}:${local.account_id}:task-definition/${local.name_prefix}-worker:*",
    ]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  statement {
    sid       = "WatchSmokeTest"
    actions   = ["ecs:DescribeTasks"]
    resources = ["arn:aws:ecs:${var.aws_region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"]
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.task_exec.arn, aws_iam_role.tasks.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadDeployValues"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.deploy_values.arn]
  }

  statement {
    sid       = "ReadSmokeTestLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service["worker"].arn}:*"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "push-register-deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
