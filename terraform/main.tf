# The root stays small: plain resources, one file per AWS service.
#   vpc.tf            network, security groups          alb.tf           the API's and Flower's load balancers
#   ecr.tf            image repositories (runtime, api) ecs.tf           cluster, task definitions, services
#   autoscaling.tf    worker scaling on the backlog     sqs.tf           queue + dead-letter queue
#   s3.tf             images bucket                     iam.tf           execution, task and deploy roles
#   secretsmanager.tf secret references                 elasticache.tf   Valkey event bus for Flower
#   cloudwatch.tf     log groups, alarms                sns.tf           alarm notifications
#   kms.tf            the alarm topic's key             ssm.tf           values CI needs to render deploy/ecs/*.json
#   waf.tf            the API balancer's rate limit   rds.tf           the Postgres database

data "aws_caller_identity" "current" {}

data "aws_availability_zones" "available" {
  # checkov:skip=CKV_AWS_394: the stack takes the first two zones only (local.azs), so a zone AWS adds later never enters it.
  state = "available"
}

locals {
  name_prefix = "${var.name}-${var.environment}"
  account_id  = data.aws_caller_identity.current.account_id
  azs         = slice(data.aws_availability_zones.available.names, 0, 2)

  services         = toset(["worker", "beat", "flower", "api"])
  log_group_prefix = "/ecs/${local.name_prefix}"

  # Every ${placeholder} of deploy/ecs/*.json except `image`. CI reads the same map from SSM
  # (ssm.tf) and adds the new image; the names of settings-backed values are the settings'
  # own field names (app/settings.py), so the JSON reads IMAGES_BUCKET = ${images_bucket}.
  task_definition_values = {
    name_prefix                  = local.name_prefix
    log_group_prefix             = local.log_group_prefix
    aws_region                   = var.aws_region
    environment                  = var.environment
    api_execution_role_arn       = aws_iam_role.execution["api"].arn
    api_task_role_arn            = aws_iam_role.task["api"].arn
    worker_execution_role_arn    = aws_iam_role.execution["worker"].arn
    worker_task_role_arn         = aws_iam_role.task["worker"].arn
    beat_execution_role_arn      = aws_iam_role.execution["beat"].arn
    beat_task_role_arn           = aws_iam_role.task["beat"].arn
    flower_execution_role_arn    = aws_iam_role.execution["flower"].arn
    flower_task_role_arn         = aws_iam_role.task["flower"].arn
    database_secret_arn          = data.aws_secretsmanager_secret.database.arn
    api_key_secret_arn           = data.aws_secretsmanager_secret.api_key.arn
    flower_basic_auth_secret_arn = data.aws_secretsmanager_secret.flower_basic_auth.arn
    events_broker_url_secret_arn = aws_secretsmanager_secret.events_broker_url.arn
    image_processing_queue_name  = aws_sqs_queue.main.name
    sqs_visibility_timeout       = tostring(var.sqs_visibility_timeout)
    task_time_limit              = tostring(var.task_time_limit)
    task_soft_time_limit         = tostring(var.task_soft_time_limit)
    images_bucket                = aws_s3_bucket.images.bucket
    s3_images_prefix             = var.s3_images_prefix
    model_chain                  = join(",", var.model_chain)
    cascade_max_doubt            = tostring(var.cascade_max_doubt)
    cascade_max_shadow           = tostring(var.cascade_max_shadow)
    database_pool_size           = tostring(local.database_api_pool_size)
  }

  # WORKER_CONCURRENCY: three pool processes per two vCPUs of the worker task, rounded up (the
  # S3 and SQS round trips leave a process off its core ~30 % of the time; docs/performance.md,
  # "Throughput with latency"), as deploy/render.py derives it for every later revision.
  worker_concurrency = tostring(max(1, ceil(tonumber(jsondecode(file("${path.module}/../deploy/ecs/worker.json")).cpu) * 3 / 2048)))

  # The first revision of each task definition, rendered from the same JSON CI renders. The
  # api runs the small `api` image target from its own repository; the others the runtime.
  task_definitions = {
    for service in local.services : service => jsondecode(templatefile(
      "${path.module}/../deploy/ecs/${service}.json",
      merge(local.task_definition_values, {
        worker_concurrency = local.worker_concurrency
        image              = "${service == "api" ? aws_ecr_repository.api.repository_url : aws_ecr_repository.this.repository_url}:${var.initial_image_tag}"
      }),
    ))
  }
}
