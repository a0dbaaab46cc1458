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

# EVENTS_BROKER_URL: the Valkey bus over TLS with its AUTH token (elasticache.tf), as a secret
# the worker's, beat's and Flower's execution roles read at task start; never plain text in a
# task definition. The API's task definition does not name it.
resource "aws_secretsmanager_secret" "events_broker_url" {
  # checkov:skip=CKV2_AWS_57: derived from the AUTH token's secret, which is rotated there (a new token, then apply).
  # checkov:skip=CKV_AWS_149: AWS-managed key, as the hand-made secrets; the execution roles need no kms grant.
  name                    = "${local.name_prefix}/events-broker-url"
  description             = "EVENTS_BROKER_URL: the Valkey event bus for Celery events and Flower"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "events_broker_url" {
  secret_id = aws_secretsmanager_secret.events_broker_url.id
  secret_string = format(
    "rediss://:%s@%s:%d/0?ssl_cert_reqs=required",
    urlencode(data.aws_secretsmanager_secret_version.events_auth_token.secret_string),
    aws_elasticache_replication_group.events.primary_endpoint_address,
    aws_elasticache_replication_group.events.port,
  )
}

# The database secret's value: the connection JSON the app reads (app/credentials.py), written
# write-only with the password rds.tf sends RDS, so neither is in the state.
resource "aws_secretsmanager_secret_version" "database" {
  secret_id = data.aws_secretsmanager_secret.database.id
  secret_string_wo = jsonencode({
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    username = aws_db_instance.this.username
    password = ephemeral.aws_secretsmanager_random_password.database.random_password
    dbname   = aws_db_instance.this.db_name
  })
  secret_string_wo_version = var.database_credentials_version
}
