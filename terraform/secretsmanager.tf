# Secrets are referenced, never written by terraform: the database, API key and Flower secrets
# exist before `terraform apply` (docs/deployment.md), and only their ARNs pass through here.
# Their values reach the containers through the task definitions' `secrets` (the execution
# role reads them at task start) or, for the database, through DATABASE_SECRET_ARN at runtime.

data "aws_secretsmanager_secret" "database" {
  arn = var.database_secret_arn
}

data "aws_secretsmanager_secret" "api_key" {
  arn = var.api_key_secret_arn
}

data "aws_secretsmanager_secret" "flower_basic_auth" {
  arn = var.flower_basic_auth_secret_arn
}

# EVENTS_BROKER_URL. The Valkey bus has no AUTH token (elasticache.tf says why), so this URL
# carries no password; it still travels as a secret, like every SecretStr setting, so turning
# AUTH on later is a change of this value only.
resource "aws_secretsmanager_secret" "events_broker_url" {
  # checkov:skip=CKV2_AWS_57: the value is derived from the cache endpoint and holds no credential; there is nothing to rotate.
  # checkov:skip=CKV_AWS_149: AWS-managed key; see CKV2_AWS_57, the value is not a credential.
  name                    = "${local.name_prefix}/events-broker-url"
  description             = "EVENTS_BROKER_URL: the Valkey event bus for Celery events and Flower"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "events_broker_url" {
  secret_id = aws_secretsmanager_secret.events_broker_url.id
  secret_string = format(
    "rediss://%s:%d/0?ssl_cert_reqs=required",
    aws_elasticache_replication_group.events.primary_endpoint_address,
    aws_elasticache_replication_group.events.port,
  )
}
