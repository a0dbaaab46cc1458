# Valkey for Celery events and remote control (Flower); tasks themselves stay on SQS.
# Reachable only from the worker's, beat's and Flower's security groups inside private subnets
# (never the API's), TLS in transit, encrypted at rest, and a client must AUTH with the token
# of var.events_auth_token_secret_arn (a secret you create, as the other secrets).
#
# The token passes through terraform state: the provider (6.25) has no write-only auth_token,
# and ElastiCache's other way, IAM authentication, needs a client that signs a fresh token for
# every connection, which kombu's Redis transport cannot be given. The state bucket is private,
# encrypted and versioned (docs/deployment.md, step 1); the token only opens a bus that is
# already limited to three security groups.
data "aws_secretsmanager_secret_version" "events_auth_token" {
  secret_id = var.events_auth_token_secret_arn
}

resource "aws_elasticache_subnet_group" "events" {
  name       = "${local.name_prefix}-events"
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_elasticache_replication_group" "events" {
  # checkov:skip=CKV_AWS_191: AWS-managed at-rest encryption; the bus holds transient task events only.
  # checkov:skip=CKV2_AWS_50: failover follows valkey_replicas: off for staging's single node, on in prod.tfvars (1 replica).
  # checkov:skip=CKV_AWS_134: no snapshots; the bus holds transient events, nothing to restore.
  replication_group_id       = "${local.name_prefix}-events"
  description                = "Celery event bus for Flower (${var.environment})"
  engine                     = "valkey"
  engine_version             = "8.0"
  node_type                  = var.valkey_node_type
  port                       = 6379
  num_cache_clusters         = 1 + var.valkey_replicas
  automatic_failover_enabled = var.valkey_replicas > 0
  multi_az_enabled           = var.valkey_replicas > 0
  subnet_group_name          = aws_elasticache_subnet_group.events.name
  security_group_ids         = [aws_security_group.valkey.id]
  transit_encryption_enabled = true
  auth_token                 = data.aws_secretsmanager_secret_version.events_auth_token.secret_string
  # A new token in the secret: ROTATE accepts the old and the new one until the next change,
  # so workers on the old URL keep their link while the deploy rolls them over.
  auth_token_update_strategy = "ROTATE"
  at_rest_encryption_enabled = true
  auto_minor_version_upgrade = true
  apply_immediately          = true
}
