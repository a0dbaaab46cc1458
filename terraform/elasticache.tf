# Valkey for Celery events and remote control (Flower); tasks themselves stay on SQS.
# Reachable only from the tasks' security group inside private subnets, TLS in transit,
# encrypted at rest. No AUTH token: the provider has no write-only auth_token, so the token
# would sit in terraform state, which is the thing this stack refuses for every password.

resource "aws_elasticache_subnet_group" "events" {
  name       = "${local.name_prefix}-events"
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_elasticache_replication_group" "events" {
  # checkov:skip=CKV_AWS_31: no AUTH token, see the comment above; access is limited to the tasks' security group.
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
  at_rest_encryption_enabled = true
  auto_minor_version_upgrade = true
  apply_immediately          = true
}
