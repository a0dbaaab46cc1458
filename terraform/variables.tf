# Variables named like a field of app/settings.py (image_processing_queue_name, images_bucket,
# s3_images_prefix, sqs_visibility_timeout, task_time_limit, task_soft_time_limit, model_chain,
# cascade_max_doubt, cascade_max_shadow)
# carry that setting's value into the task definitions; tests/deploy checks the names and defaults.

variable "name" {
  type        = string
  description = "Name prefix of every resource; the environment is appended."
  default     = "image-processor"
}

variable "environment" {
  type        = string
  description = "Deployment environment; becomes ENVIRONMENT in the containers."

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production (the values app/settings.py accepts for a deploy)."
  }
}

variable "aws_region" {
  type        = string
  description = "AWS region of the whole stack; becomes AWS_REGION in the containers."
  default     = "us-east-1"
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC; split into two public and two private subnets."
  default     = "10.40.0.0/16"
}

variable "nat_gateway_per_az" {
  type        = bool
  description = "One NAT gateway (and Elastic IP) in each zone, each private route table routing through its own zone's: a zone's failure then cuts only its own tasks off from ECR, SQS, Secrets Manager and CloudWatch. Required in production; false shares one ($32.85 a month less, docs/deployment.md)."
  default     = true

  validation {
    condition     = var.nat_gateway_per_az || var.environment != "production"
    error_message = "production needs nat_gateway_per_az: with one NAT gateway, its zone's failure cuts every task off from ECR, SQS, Secrets Manager and CloudWatch."
  }
}

variable "initial_image_tag" {
  type        = string
  description = "Image tag of the first task-definition revisions; CI registers every later revision with the commit SHA."
  default     = "bootstrap"
}

variable "ecr_keep_tagged_images" {
  type        = number
  description = "How many tagged images each ECR lifecycle policy keeps, counted newest first over every tagged image; images that passed a deploy are kept apart (ecr_keep_deployed_images)."
  default     = 10
}

variable "ecr_keep_deployed_images" {
  type        = number
  description = "How many images tagged deployed-<UTC timestamp> (by the deploy workflow, for each image that passed a deploy) each ECR lifecycle policy keeps whatever else is pushed: the running image and its rollback targets."
  default     = 5

  validation {
    condition     = var.ecr_keep_deployed_images >= 2
    error_message = "ecr_keep_deployed_images must keep at least 2: the running image and the one a rollback returns to."
  }
}

variable "ecr_pull_account_ids" {
  type        = list(string)
  description = "AWS accounts (12-digit ids) allowed to pull from this stack's ECR repositories: production pulls the very image, by digest, that staging's smoke test passed. Empty: no repository policy."
  default     = []

  validation {
    condition     = alltrue([for id in var.ecr_pull_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "ecr_pull_account_ids holds 12-digit AWS account ids."
  }
}

variable "promote_from_repository_arns" {
  type        = list(string)
  description = "ECR repositories of another account (staging's runtime and api repositories, in prod.tfvars) whose images the deploy role may read, to promote by digest the image that passed staging's smoke test. That account lets this one pull (its ecr_pull_account_ids). Empty where images are built, not promoted."
  default     = []

  validation {
    condition     = alltrue([for arn in var.promote_from_repository_arns : can(regex("^arn:aws:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", arn))])
    error_message = "promote_from_repository_arns holds ECR repository ARNs (arn:aws:ecr:<region>:<account>:repository/<name>)."
  }
}

variable "database_secret_arn" {
  type        = string
  description = "ARN of the EXISTING, empty Secrets Manager secret for the Postgres connection. Terraform writes host, port, username, password and dbname into it write-only (rds.tf): the password never enters the state."
}

variable "database_credentials_version" {
  type        = number
  description = "Version of the database password: bump it to have a new one made and written to RDS and the database secret (both write-only)."
  default     = 1
}

variable "database_instance_class" {
  type        = string
  description = "RDS instance class of the Postgres database; its memory sets max_connections, which the fleet's connection budget must fit (docs/deployment.md, \"Connections\")."
  default     = "db.t4g.micro"

  validation {
    condition     = contains(["db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.t4g.large", "db.m7g.large"], var.database_instance_class)
    error_message = "database_instance_class must be one whose memory rds.tf knows (local.database_memory_bytes)."
  }
}

variable "database_backup_retention_days" {
  type        = number
  description = "Days RDS keeps automated backups (point-in-time recovery)."
  default     = 14

  validation {
    condition     = var.database_backup_retention_days >= 7 && var.database_backup_retention_days <= 35
    error_message = "database_backup_retention_days must be 7-35: a week of point-in-time recovery at least."
  }
}

variable "api_key_secret_arn" {
  type        = string
  description = "ARN of the existing Secrets Manager secret whose value is the API key (API_KEY)."
}

variable "flower_basic_auth_secret_arn" {
  type        = string
  description = "ARN of the existing Secrets Manager secret holding Flower's basic auth, user:password (FLOWER_BASIC_AUTH)."
}

variable "events_auth_token_secret_arn" {
  type        = string
  description = "ARN of the existing Secrets Manager secret whose value is the Valkey event bus's AUTH token (16-128 printable characters without @, \" or /; `openssl rand -hex 32`). Terraform sets it on the bus and builds EVENTS_BROKER_URL from it; the token is in terraform state (elasticache.tf says why)."
}

variable "secrets_kms_key_arns" {
  type        = list(string)
  description = "Customer-managed KMS keys that encrypt the referenced secrets, if any; the execution and task roles may decrypt with them. Empty when the secrets use the AWS-managed key."
  default     = []
}

variable "image_processing_queue_name" {
  type        = string
  description = "Name of the SQS queue Celery uses (IMAGE_PROCESSING_QUEUE_NAME); its dead-letter queue is <name>-dlq."
  default     = "image-processing"
}

# The three time limits follow app/time_limits.py, which settings and the worker's start-up
# check apply too: soft < hard <= 110 s, and the visibility timeout 2-4x the hard limit.

variable "sqs_visibility_timeout" {
  type        = number
  description = "SQS visibility timeout in seconds (SQS_VISIBILITY_TIMEOUT), 2-4x task_time_limit. At least twice, so a message stays hidden while a worker holds it: a retry's countdown (RETRY_BACKOFF_MAX_SECONDS, 120 s, held as an ETA message) plus a full run. At most four times, so the message of a worker that died comes back within minutes."
  default     = 300

  validation {
    condition     = var.sqs_visibility_timeout >= 2 * var.task_time_limit && var.sqs_visibility_timeout <= 4 * var.task_time_limit
    error_message = "sqs_visibility_timeout must be 2-4x task_time_limit: above the hard limit plus a retry's countdown, so a message is never handed to two workers, and not far above it, so a dead worker's message comes back soon."
  }
}

variable "task_time_limit" {
  type        = number
  description = "Celery hard time limit per task in seconds (TASK_TIME_LIMIT); at most 110. A deploy, a scale-in or a Spot reclaim sends SIGTERM and Fargate SIGKILLs the task 120 s later (stopTimeout, its maximum, in deploy/ecs/worker.json): the running task must end and be acknowledged before that. A photo takes about 2 s, a 50 MP one about 10 s."
  default     = 100

  validation {
    condition     = var.task_time_limit <= 110
    error_message = "task_time_limit must be at most 110 s: Fargate's 120 s stopTimeout less 10 s to acknowledge the message and shut down."
  }
}

variable "task_soft_time_limit" {
  type        = number
  description = "Celery soft time limit per task in seconds (TASK_SOFT_TIME_LIMIT): the task is interrupted and fails its job with a reason; above 0 and below task_time_limit."
  default     = 90

  validation {
    condition     = var.task_soft_time_limit > 0 && var.task_soft_time_limit < var.task_time_limit
    error_message = "task_soft_time_limit must be above 0 and below task_time_limit."
  }
}

variable "max_receive_count" {
  type        = number
  description = "Deliveries of one message before SQS moves it to the dead-letter queue (Celery retries publish new messages, so this counts lost workers and expired visibility only)."
  default     = 3
}

variable "images_bucket" {
  type        = string
  description = "Name of the S3 bucket for originals and results (IMAGES_BUCKET); globally unique."
}

variable "s3_images_prefix" {
  type        = string
  description = "Key prefix added on the way to S3 (S3_IMAGES_PREFIX); the database stores keys without it."
  default     = "books/"

  validation {
    condition     = can(regex("^[a-z0-9-]+/$", var.s3_images_prefix))
    error_message = "s3_images_prefix is one path segment ending in a slash, such as books/."
  }
}

variable "model_chain" {
  type        = list(string)
  description = "The model cascade in order (MODEL_CHAIN), fast first; each must be baked into the image."
  default     = ["u2netp", "u2net"]
}

variable "cascade_max_doubt" {
  type        = number
  description = "CASCADE_MAX_DOUBT: a mask more doubtful than this escalates to the next model (docs/quality.md)."
  default     = 0.08

  validation {
    condition     = var.cascade_max_doubt >= 0 && var.cascade_max_doubt <= 1
    error_message = "cascade_max_doubt is a share, between 0 and 1."
  }
}

variable "cascade_max_shadow" {
  type        = number
  description = "CASCADE_MAX_SHADOW: a mask with more of it like the backdrop in shadow escalates (docs/quality.md)."
  default     = 0.15

  validation {
    condition     = var.cascade_max_shadow >= 0 && var.cascade_max_shadow <= 1
    error_message = "cascade_max_shadow is a share, between 0 and 1."
  }
}

variable "worker_min_count" {
  type        = number
  description = "Fewest worker tasks; 0 lets an idle fleet cost nothing."
  default     = 0
}

variable "worker_max_count" {
  type        = number
  description = "Most worker tasks; the 'worker count at max' alarm fires when the fleet stays here."
  default     = 10

  validation {
    condition     = var.worker_max_count >= 1 && var.worker_max_count >= var.worker_min_count
    error_message = "worker_max_count must be at least 1 and at least worker_min_count."
  }
}

variable "worker_on_demand_base" {
  type        = number
  description = "Worker tasks that run on on-demand Fargate before any runs on Fargate Spot (up to 70% cheaper; AWS may reclaim a Spot task with two minutes' notice, which the 120 s stop window and late acks absorb)."
  default     = 1

  validation {
    condition     = var.worker_on_demand_base >= 0
    error_message = "worker_on_demand_base cannot be negative."
  }
}

variable "worker_on_demand_weight" {
  type        = number
  description = "Beyond worker_on_demand_base, the on-demand share of worker tasks against worker_spot_weight. At least 1: ECS does not fall back to on demand when Spot has no capacity, so without an on-demand weight a Spot shortage would shrink the fleet to its base."
  default     = 1

  validation {
    condition     = var.worker_on_demand_weight >= 1
    error_message = "worker_on_demand_weight must be at least 1: with 0, a Spot shortage leaves only worker_on_demand_base tasks."
  }
}

variable "worker_spot_weight" {
  type        = number
  description = "Beyond worker_on_demand_base, the Fargate Spot share of worker tasks against worker_on_demand_weight (3 to 1: three Spot tasks for each on-demand one)."
  default     = 3

  validation {
    condition     = var.worker_spot_weight >= 0
    error_message = "worker_spot_weight cannot be negative."
  }
}

variable "worker_backlog_per_task_target" {
  type        = number
  description = "Messages (waiting + in flight) per worker task that target tracking aims for: the acceptable queue delay divided by the seconds one task needs per image (2 processes per task). Scaling out from zero starts one task per this many waiting messages."
  default     = 100

  validation {
    condition     = var.worker_backlog_per_task_target >= 1
    error_message = "worker_backlog_per_task_target must be at least 1 message per task."
  }
}

variable "worker_idle_minutes_before_zero" {
  type        = number
  description = "Minutes the queue must be completely empty (nothing waiting, nothing in flight) before the worker service scales to zero. 5, from `make capacity ARGS=--tune` (docs/performance.md, \"The fleet simulated\"): the cheapest setting that meets the stated goals; 15 kept every burst's tasks a further 10 minutes for no photo."
  default     = 5
}

variable "api_desired_count" {
  type        = number
  description = "Number of API tasks behind the load balancer."
  default     = 2
}

variable "api_certificate_arn" {
  type        = string
  description = "ACM certificate ARN for the API's HTTPS listener."
}

variable "api_domain_name" {
  type        = string
  description = "The API's DNS name, the one api_certificate_arn covers: the deploy checks the API through its load balancer with the certificate verified for this name."

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.api_domain_name))
    error_message = "api_domain_name is a DNS name such as api.example.com."
  }
}

variable "api_allowed_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the API's load balancer."
  default     = ["0.0.0.0/0"]
}

variable "api_rate_limit_per_5_minutes" {
  type        = number
  description = "Requests one client address may send the API's load balancer in five minutes before the WAF refuses it (403) until its rate falls back. 2000 is about 7 a second, sustained: above a client uploading a photo a second, below a flood."
  default     = 2000

  validation {
    condition     = var.api_rate_limit_per_5_minutes >= 10
    error_message = "api_rate_limit_per_5_minutes must be at least 10, WAF's smallest rate limit."
  }
}

variable "api_5xx_alarm_threshold" {
  type        = number
  description = "Alarm when the API's load balancer answers more than this many 5xx (its own plus the API's) in 5 minutes."
  default     = 10
}

variable "flower_certificate_arn" {
  type        = string
  description = "ACM certificate ARN for the HTTPS listener of Flower's internal load balancer (a private DNS name pointed at flower_url)."
}

variable "flower_allowed_cidrs" {
  type        = list(string)
  description = "Private CIDR blocks (the operators' VPN or office network, a bastion) allowed to reach Flower's internal load balancer on HTTPS (443); Flower has no public address. Empty: the VPC's own CIDR (vpc_cidr), which a bastion inside the VPC or an AWS Client VPN endpoint associated with it (it translates clients to addresses in the VPC) comes from."
  default     = []

  validation {
    condition     = alltrue([for cidr in var.flower_allowed_cidrs : try(cidrhost(cidr, 0) != "" && tonumber(split("/", cidr)[1]) >= 16, false)])
    error_message = "Flower is private: each of flower_allowed_cidrs is a CIDR of /16 or narrower (an operators' network, not 10.0.0.0/8 or 0.0.0.0/0)."
  }
}

variable "valkey_node_type" {
  type        = string
  description = "ElastiCache node type of the Valkey event bus."
  default     = "cache.t4g.micro"
}

variable "valkey_replicas" {
  type        = number
  description = "Replica nodes of the Valkey event bus (0 for staging; 1 gives automatic failover)."
  default     = 0
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the containers' logs."
  default     = 30
}

variable "oldest_message_alarm_seconds" {
  type        = number
  description = "Alarm when the oldest waiting message is older than this many seconds."
  default     = 900
}

variable "alarm_email" {
  type        = string
  description = "Address subscribed to the alarm topic; empty for none (confirm the subscription e-mail)."
  default     = ""
}

variable "github_repository" {
  type        = string
  description = "owner/name of the GitHub repository whose deploy workflow may assume the deploy role."
}

variable "github_oidc_provider_arn" {
  type        = string
  description = "ARN of the account's existing GitHub OIDC provider; empty to create it (an account has at most one)."
  default     = ""
}
