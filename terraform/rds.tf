# The database: Postgres 16 on RDS in the private subnets, encrypted, backed up for
# database_backup_retention_days, protected from deletion, Multi-AZ in production, and
# refusing any connection without TLS (rds.force_ssl). The clients verify the server
# (sslmode=verify-full against the RDS CA bundle in the image; docs/deployment.md).
#
# No password passes through terraform state: Secrets Manager makes one for this run only
# (an ephemeral resource), and it goes to RDS and into the database secret through write-only
# arguments. The secret (var.database_secret_arn) is created by hand, empty, as the others;
# terraform writes the connection JSON the app reads (host, port, username, password, dbname).
# Bump database_credentials_version to write a new password to both (a rotation).

locals {
  # RDS's default max_connections for Postgres is LEAST(DBInstanceClassMemory / 9531392, 5000);
  # the parameter group sets that figure from the class's memory, so the fleet's connection
  # budget (docs/deployment.md, "Connections") is checked against the server's own limit.
  database_memory_bytes = {
    "db.t4g.micro"  = 1073741824
    "db.t4g.small"  = 2147483648
    "db.t4g.medium" = 4294967296
    "db.t4g.large"  = 8589934592
    "db.m7g.large"  = 8589934592
  }
  database_max_connections = min(5000, floor(local.database_memory_bytes[var.database_instance_class] / 9531392))

  # The connection budget (docs/deployment.md, "Connections"). A rolling deploy runs old and new
  # tasks side by side (maximumPercent 200): every service counts twice. A worker pool process
  # runs one task at a time (one connection), beat two (its sweeps, the orphan sweep's lookups);
  # 10 are reserved (RDS's 5, the migration, the smoke test, an operator's psql).
  database_deploy_overlap       = 2
  database_beat_connections     = 2
  database_reserved_connections = 10
  database_worker_connections   = local.database_deploy_overlap * var.worker_max_count * tonumber(local.worker_concurrency)
  # The API's pool (DATABASE_POOL_SIZE in deploy/ecs/api.json): what is left, shared by its
  # tasks old and new, and never above the 20 measured to serve the 16-way load (app/db.py).
  database_api_pool_size = min(20, floor(
    (local.database_max_connections - local.database_worker_connections - local.database_beat_connections - local.database_reserved_connections)
    / (local.database_deploy_overlap * var.api_desired_count)
  ))
}

ephemeral "aws_secretsmanager_random_password" "database" {
  password_length = 40
  # RDS refuses / @ " and spaces in a master password; \\ and ' would need quoting in a URL.
  exclude_characters = "/@\"' \\"
}

resource "aws_db_subnet_group" "this" {
  name       = local.name_prefix
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "this" {
  name   = "${local.name_prefix}-postgres16"
  family = "postgres16"

  lifecycle {
    precondition {
      condition     = local.database_api_pool_size >= 1
      error_message = "The workers at worker_max_count, beat and the reserve leave the API no connection on this database_instance_class: a larger class, or fewer workers."
    }
  }

  # A connection without TLS is refused by the server, whatever the client asks.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name         = "max_connections"
    value        = tostring(local.database_max_connections)
    apply_method = "pending-reboot"
  }
}

resource "aws_db_instance" "this" {
  # checkov:skip=CKV_AWS_157: Multi-AZ in production (multi_az below); staging runs one instance to halve its cost.
  # checkov:skip=CKV_AWS_118: no enhanced monitoring; CloudWatch's standard RDS metrics and the exported logs cover this fleet's few queries a second.
  # checkov:skip=CKV_AWS_161: password authentication from a rotated secret; IAM authentication would need a token signer in the app's connection code.
  # checkov:skip=CKV_AWS_353: no Performance Insights; every statement the fleet runs takes milliseconds (app/db.py).
  # checkov:skip=CKV_AWS_354: as above, no Performance Insights to encrypt.
  # checkov:skip=CKV2_AWS_30: no query logging: statements carry book titles; errors and slow statements reach the exported postgresql log.
  identifier     = local.name_prefix
  engine         = "postgres"
  engine_version = "16"
  instance_class = var.database_instance_class

  allocated_storage     = 20
  max_allocated_storage = 100
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name  = "image_processor"
  username = "image_processor"
  # Write-only: sent to RDS, never stored in the state.
  password_wo         = ephemeral.aws_secretsmanager_random_password.database.random_password
  password_wo_version = var.database_credentials_version

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  # The CA whose bundle the image carries (docs/deployment.md, "TLS to the database").
  ca_cert_identifier = "rds-ca-rsa2048-g1"

  multi_az                = var.environment == "production"
  backup_retention_period = var.database_backup_retention_days
  copy_tags_to_snapshot   = true
  deletion_protection     = true
  # A destroy (once deletion protection is turned off) leaves a last snapshot.
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name_prefix}-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
}
