# One execution role and one task role per service, each with only what its holder does, and
# the deploy role. No action wildcards; every statement names its resources, except the few
# actions AWS does not scope to a resource (commented inline).
#   execution  ECS itself, at task start: pull the service's image, write its logs, read the
#              secrets its task definition lists in `secrets`
#   task       the service's own code (app/, worker/): every call it makes, and nothing more.
#              tests/worker/integration/test_least_privilege.py runs each service's calls
#              under its role on moto with IAM enforcement on, and checks the AWS rules moto
#              does not model.
#   deploy     GitHub Actions (OIDC): push or promote the images, register task definitions,
#              update services, run the migration and the smoke test

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

# --- execution roles ------------------------------------------------------------------------

locals {
  # The image each service runs (the api has its own small image) and the secrets its task
  # definition injects (deploy/ecs/<service>.json, `secrets`).
  execution = {
    api = {
      repository = aws_ecr_repository.api.arn
      secrets    = [data.aws_secretsmanager_secret.api_key.arn]
    }
    worker = {
      repository = aws_ecr_repository.this.arn
      secrets    = [aws_secretsmanager_secret.events_broker_url.arn]
    }
    beat = {
      repository = aws_ecr_repository.this.arn
      secrets    = [aws_secretsmanager_secret.events_broker_url.arn]
    }
    flower = {
      repository = aws_ecr_repository.this.arn
      secrets = [
        aws_secretsmanager_secret.events_broker_url.arn,
        data.aws_secretsmanager_secret.flower_basic_auth.arn,
      ]
    }
  }
}

resource "aws_iam_role" "execution" {
  for_each = local.execution

  name               = "${local.name_prefix}-${each.key}-exec"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  for_each = local.execution

  statement {
    sid = "EcrAuth"
    # ecr:GetAuthorizationToken is not resource-scoped in IAM; "*" is the only valid resource.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [each.value.repository]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service[each.key].arn}:*"]
  }

  statement {
    sid       = "ReadContainerSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value.secrets
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

resource "aws_iam_role_policy" "execution" {
  for_each = local.execution

  name   = "pull-log-secrets"
  role   = aws_iam_role.execution[each.key].id
  policy = data.aws_iam_policy_document.execution[each.key].json
}

# --- task roles -----------------------------------------------------------------------------

locals {
  queue_arns = [aws_sqs_queue.main.arn, aws_sqs_queue.dead_letter.arn]
  image_keys = "${aws_s3_bucket.images.arn}/${var.s3_images_prefix}*"
  # The worker's results, `<book_id>_processed_<job_id>.png` (worker/job_runner.py). An
  # upload's key, `<book_id>/<hex>.<ext>`, never matches; an imported one only if the listing's
  # file name itself ends in `_processed_<...>.png`.
  result_keys = "${aws_s3_bucket.images.arn}/${var.s3_images_prefix}*_processed_*.png"
  task_policies = {
    api    = data.aws_iam_policy_document.api_task.json
    worker = data.aws_iam_policy_document.worker_task.json
    beat   = data.aws_iam_policy_document.beat_task.json
    flower = data.aws_iam_policy_document.flower_task.json
  }
}

resource "aws_iam_role" "task" {
  for_each = local.task_policies

  name               = "${local.name_prefix}-${each.key}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "task" {
  for_each = local.task_policies

  name   = "${each.key}-calls"
  role   = aws_iam_role.task[each.key].id
  policy = each.value
}

# Read by the API, the worker and beat (DATABASE_SECRET_ARN); Flower has no database.
data "aws_iam_policy_document" "database_credentials" {
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

# Queue and DLQ depths: the API's deep health, beat's sweep (is the queue empty?), Flower's
# /metrics. Each looks the queues up by name first.
data "aws_iam_policy_document" "read_queue_depths" {
  statement {
    sid       = "ReadQueueDepths"
    actions   = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = local.queue_arns
  }
}

data "aws_iam_policy_document" "api_task" {
  source_policy_documents = [
    data.aws_iam_policy_document.database_credentials.json,
    data.aws_iam_policy_document.read_queue_depths.json,
  ]

  statement {
    sid = "EnqueueJobs"
    # Publish only: the API never receives, deletes or hides a message.
    actions   = ["sqs:GetQueueUrl", "sqs:SendMessage"]
    resources = [aws_sqs_queue.main.arn]
  }

  statement {
    sid = "StoreUploads"
    # PutObject for uploads and as the destination of a listing import's CopyObject;
    # DeleteObject removes an upload whose database row was never written.
    actions   = ["s3:DeleteObject", "s3:PutObject"]
    resources = [local.image_keys]
  }

  statement {
    sid       = "ReadListingImports"
    actions   = ["s3:GetObject"] # the source of a listing import's CopyObject
    resources = ["${aws_s3_bucket.images.arn}/listings/*"]
  }

  statement {
    sid = "SignReviewLinks"
    # /review (app/review/) shows each job's original and result through presigned GET links
    # the API signs; S3 authorises such a link as its signer's s3:GetObject. Originals and
    # results both live under the images prefix, and nothing else is shown.
    actions   = ["s3:GetObject"]
    resources = [local.image_keys]
  }

  statement {
    sid = "ListBucket"
    # No s3:prefix condition: /health/deep calls HeadBucket, which AWS authorises as
    # s3:ListBucket with no prefix in the request; the listing import lists listings/<id>/.
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.images.arn]
  }
}

data "aws_iam_policy_document" "worker_task" {
  source_policy_documents = [data.aws_iam_policy_document.database_credentials.json]

  statement {
    sid = "ConsumeJobs"
    # kombu receives, deletes and (on a requeue) changes visibility; a Celery retry publishes
    # a new message; the start-up check reads the queue's VisibilityTimeout.
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
    sid       = "ReadOriginalsWriteResults"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.image_keys]
  }

  statement {
    sid = "DiscardFailedResults"
    # A job that fails for good after a run stored its result deletes that PNG; results only,
    # never an original.
    actions   = ["s3:DeleteObject"]
    resources = [local.result_keys]
  }

  statement {
    sid = "TellMissingFromForbidden"
    # Without s3:ListBucket on the bucket, S3 answers a GetObject of a missing key with 403,
    # not 404, and `source_object_missing` would become a retried access error. AWS makes
    # that decision with no prefix in the request context, so no s3:prefix condition.
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.images.arn]
  }
}

data "aws_iam_policy_document" "beat_task" {
  source_policy_documents = [
    data.aws_iam_policy_document.database_credentials.json,
    data.aws_iam_policy_document.read_queue_depths.json,
  ]

  statement {
    sid       = "RepublishJobs"
    actions   = ["sqs:GetQueueUrl", "sqs:SendMessage"]
    resources = [aws_sqs_queue.main.arn]
  }

  statement {
    sid = "ListImages"
    # The orphan sweep (worker/orphans.py) lists the images prefix, and only that: listings/
    # is not beat's to read.
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.images.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.s3_images_prefix}*"]
    }
  }

  statement {
    sid = "DeleteOrphanedImages"
    # ...and deletes what no row names. DeleteObjects is authorised per key as s3:DeleteObject.
    actions   = ["s3:DeleteObject"]
    resources = [local.image_keys]
  }
}

data "aws_iam_policy_document" "flower_task" {
  # Queue depths only; Flower's events and remote control ride the Valkey events bus.
  source_policy_documents = [data.aws_iam_policy_document.read_queue_depths.json]
}

# --- operator role ---------------------------------------------------------------------------
# `image-processor dlq show` and `dlq redrive` (worker/operator_dlq.py) run as one-off tasks of
# the worker's task definition with this role as the override's taskRoleArn (docs/operations.md,
# "After an outage"). The worker's own role never receives from or deletes on the dead-letter
# queue: a worker that could drain it would lose the poison messages it is there to keep.

resource "aws_iam_role" "operator" {
  name               = "${local.name_prefix}-operator-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "operator_task" {
  statement {
    sid = "ReadAndDrainDeadLetters"
    # show: look up, count, receive and make visible again; redrive: receive and delete.
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
    ]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  statement {
    sid = "RedriveToTheWorkQueue"
    # SendMessageBatch is authorised as sqs:SendMessage.
    actions   = ["sqs:GetQueueUrl", "sqs:SendMessage"]
    resources = [aws_sqs_queue.main.arn]
  }
}

resource "aws_iam_role_policy" "operator" {
  name   = "dead-letter-queue"
  role   = aws_iam_role.operator.id
  policy = data.aws_iam_policy_document.operator_task.json
}

# Who starts those tasks: a person on call, with credentials of their own (an SSO permission set
# or an IAM group the account's administrators attach this policy to), never the deploy role.
# Exactly the runbook's calls: read the deploy values, find the worker's task definition, run
# it passing the worker's execution role and the worker's or the operator's task role, wait
# for it and read what it printed.
resource "aws_iam_policy" "operator_run_task" {
  name        = "${local.name_prefix}-operator-run-task"
  description = "Run the operator commands as one-off worker tasks (docs/operations.md)"
  policy      = data.aws_iam_policy_document.operator_run_task.json
}

data "aws_iam_policy_document" "operator_run_task" {
  statement {
    sid       = "ReadDeployValues"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.deploy_values.arn]
  }

  statement {
    sid       = "FindTheWorkersTaskDefinition"
    actions   = ["ecs:DescribeServices"]
    resources = [aws_ecs_service.worker.id]
  }

  statement {
    sid       = "RunWorkerTasks"
    actions   = ["ecs:RunTask"]
    resources = ["arn:aws:ecs:${var.aws_region}:${local.account_id}:task-definition/${local.name_prefix}-worker:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  statement {
    sid       = "WatchTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = ["arn:aws:ecs:${var.aws_region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"]
  }

  statement {
    sid = "PassTheTasksRoles"
    # The worker's execution role always; the worker's task role for `jobs`, the operator's
    # for `dlq`. No other service's role.
    actions = ["iam:PassRole"]
    resources = [
      aws_iam_role.execution["worker"].arn,
      aws_iam_role.task["worker"].arn,
      aws_iam_role.operator.arn,
    ]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadWhatTheTaskPrinted"
    actions   = ["logs:FilterLogEvents", "logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service["worker"].arn}:*"]
  }
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

    # Only jobs of main bound to this GitHub environment (staging or production, the latter
    # behind a required reviewer) can assume this environment's role. The default subject of
    # an environment's job names no ref, so the repository's subject template adds it
    # (include_claim_keys repo, context, ref; docs/deployment.md): a dispatch from another
    # branch or tag, or a pull request, gets another subject. Until the template is set, no
    # job can assume the role. StringEquals, never StringLike: no wildcard reaches the subject.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.environment}:ref:refs/heads/main"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name               = "${local.name_prefix}-deploy"
  assume_role_policy = data.aws_iam_policy_document.deploy_assume.json
  # The deploy job asks for a session as long as this (role-duration-seconds), longer than its
  # 100-minute timeout, so a rollback at the end of a slow deploy is not refused.
  max_session_duration = 7200
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
    resources = [aws_ecr_repository.this.arn, aws_ecr_repository.api.arn]
  }

  statement {
    sid = "ReadScanFindings"
    # The deploy waits for each image's scan on push and refuses CRITICAL or HIGH findings.
    actions   = ["ecr:DescribeImageScanFindings"]
    resources = [aws_ecr_repository.this.arn, aws_ecr_repository.api.arn]
  }

  dynamic "statement" {
    # Production promotes the exact images staging tested: it reads them, by digest, from
    # staging's repositories (whose policy lets this account pull; ecr.tf).
    for_each = length(var.promote_from_repository_arns) > 0 ? [1] : []
    content {
      sid       = "PullImagesToPromote"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = var.promote_from_repository_arns
    }
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
    resources = concat(values(aws_iam_role.execution)[*].arn, values(aws_iam_role.task)[*].arn)

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
    sid = "WatchLoadBalancerTargets"
    # Flower's load balancer is internal: the deploy reads its health check's verdict.
    # ELB Describe* actions are not resource-scoped in IAM; "*" is the only valid resource.
    actions   = ["elasticloadbalancing:DescribeTargetHealth"]
    resources = ["*"]
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
