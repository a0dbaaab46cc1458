# Network: two public subnets (the API's load balancer, NAT) and two private subnets (every
# task, Valkey, Flower's internal load balancer).
# Tasks have no public address; they reach ECR, SQS and Secrets Manager through a NAT gateway
# and S3 through a gateway endpoint. Each private subnet has its own route table; with
# nat_gateway_per_az (production) each routes through the NAT gateway in its own zone, so a
# zone's failure cuts only that zone's tasks off. Staging shares one NAT gateway to save
# $32.85 a month and accepts that a failure of its zone cuts both.

resource "aws_vpc" "this" {
  # checkov:skip=CKV2_AWS_11: no VPC flow logs yet; they cost per GB and nothing reads them. Enable for production audits.
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.name_prefix }
}

resource "aws_default_security_group" "this" {
  # No rules: nothing may use the default security group.
  vpc_id = aws_vpc.this.id
}

resource "aws_subnet" "public" {
  count = length(local.azs)

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)

  tags = { Name = "${local.name_prefix}-public-${local.azs[count.index]}" }
}

resource "aws_subnet" "private" {
  count = length(local.azs)

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index + 8)

  tags = { Name = "${local.name_prefix}-private-${local.azs[count.index]}" }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
}

locals {
  nat_gateway_count = var.nat_gateway_per_az ? length(local.azs) : 1
}

resource "aws_eip" "nat" {
  count = local.nat_gateway_count

  domain = "vpc"
}

resource "aws_nat_gateway" "this" {
  count = local.nat_gateway_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${local.name_prefix}-nat-${local.azs[count.index]}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(local.azs)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  count = length(local.azs)

  vpc_id = aws_vpc.this.id

  tags = { Name = "${local.name_prefix}-private-${local.azs[count.index]}" }
}

resource "aws_route" "private_nat" {
  count = length(local.azs)

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  # Its own zone's NAT gateway; the only one when there is one.
  nat_gateway_id = aws_nat_gateway.this[count.index % local.nat_gateway_count].id
}

resource "aws_route_table_association" "private" {
  count = length(local.azs)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# S3 traffic (every image, both ways) stays off the NAT gateway's per-GB charge.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${var.aws_region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
}

# --- security groups -----------------------------------------------------------------------

resource "aws_security_group" "alb" {
  name        = "${local.name_prefix}-alb"
  description = "API load balancer: HTTPS from the allowed CIDRs"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.api_allowed_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS to the API"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_http_redirect" {
  # checkov:skip=CKV_AWS_260: port 80 only answers with a redirect to HTTPS (alb.tf); clients that type http:// still arrive.
  for_each = toset(var.api_allowed_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTP, answered with a redirect to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the API tasks"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  referenced_security_group_id = aws_security_group.api.id
}

# --- the API: port 8000 from its load balancer; out to AWS APIs and Postgres, never the bus ---
# The API publishes tasks to SQS by name and never touches the event bus (its task definition
# sets no EVENTS_BROKER_URL, so /health/deep reports the bus "skipped"): remote control
# (shutdown, pool_shrink, revoke) stays out of reach of the internet-facing process.

resource "aws_security_group" "api" {
  name        = "${local.name_prefix}-api"
  description = "API tasks: 8000 from their load balancer only; egress for AWS APIs and Postgres"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api.id
  description                  = "API port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "api_https" {
  # checkov:skip=CKV_AWS_382: the API calls AWS APIs (SQS, S3, Secrets Manager, ECR, CloudWatch Logs) over HTTPS through the NAT gateway or the S3 endpoint; those have no fixed CIDR.
  security_group_id = aws_security_group.api.id
  description       = "HTTPS to AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "api_postgres" {
  security_group_id            = aws_security_group.api.id
  description                  = "Postgres (RDS)"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

# --- worker, beat, and the deploy's one-off tasks (migration, smoke test) --------------------

resource "aws_security_group" "tasks" {
  # The description still names the API and Flower, which now have groups of their own:
  # changing a security group's description replaces the group, and with it every task's
  # network interface.
  name        = "${local.name_prefix}-tasks"
  description = "ECS tasks: API from the load balancer, Flower from the operators, egress for AWS APIs"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  # checkov:skip=CKV_AWS_382: tasks call AWS APIs (ECR, SQS, Secrets Manager, CloudWatch) over HTTPS through the NAT gateway; those endpoints have no fixed CIDR.
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_postgres" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Postgres (RDS)"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "tasks_valkey" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Valkey event bus"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.valkey.id
}

resource "aws_security_group" "valkey" {
  name        = "${local.name_prefix}-valkey"
  description = "Valkey event bus: only from the ECS tasks"
  vpc_id      = aws_vpc.this.id
}

# The bus admits the worker and beat (tasks), the deploy's smoke test (tasks) and Flower: never
# the API. It also asks for the AUTH token over TLS (elasticache.tf).
resource "aws_vpc_security_group_ingress_rule" "valkey_from_tasks" {
  security_group_id            = aws_security_group.valkey.id
  description                  = "Valkey from the ECS tasks"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.tasks.id
}

resource "aws_vpc_security_group_ingress_rule" "valkey_from_flower" {
  security_group_id            = aws_security_group.valkey.id
  description                  = "Valkey from Flower"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.flower.id
}

# --- Flower: operators -> internal load balancer (HTTPS) -> Flower tasks ---------------------

resource "aws_security_group" "flower_alb" {
  name        = "${local.name_prefix}-flower-alb"
  description = "Flower's internal load balancer: HTTPS from the operators' networks"
  vpc_id      = aws_vpc.this.id
}

locals {
  # The VPC itself unless the operators' networks are named.
  flower_allowed_cidrs = length(var.flower_allowed_cidrs) > 0 ? var.flower_allowed_cidrs : [var.vpc_cidr]
}

resource "aws_vpc_security_group_ingress_rule" "flower_alb_https" {
  for_each = toset(local.flower_allowed_cidrs)

  security_group_id = aws_security_group.flower_alb.id
  description       = "HTTPS to Flower from the operators' private network"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "flower_alb_to_flower" {
  security_group_id            = aws_security_group.flower_alb.id
  description                  = "To the Flower tasks"
  ip_protocol                  = "tcp"
  from_port                    = 5555
  to_port                      = 5555
  referenced_security_group_id = aws_security_group.flower.id
}

# Flower reads the queue's attributes (SQS) and the event bus (Valkey); it never opens the
# database, so unlike the other tasks it has no Postgres rule.
resource "aws_security_group" "flower" {
  name        = "${local.name_prefix}-flower"
  description = "Flower tasks: 5555 from their load balancer only, egress for AWS APIs and Valkey"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "flower_from_alb" {
  security_group_id            = aws_security_group.flower.id
  description                  = "Flower's port from its internal load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 5555
  to_port                      = 5555
  referenced_security_group_id = aws_security_group.flower_alb.id
}

resource "aws_vpc_security_group_egress_rule" "flower_https" {
  # checkov:skip=CKV_AWS_382: Flower calls AWS APIs (ECR, SQS, Secrets Manager, CloudWatch Logs) over HTTPS through the NAT gateway; those endpoints have no fixed CIDR.
  security_group_id = aws_security_group.flower.id
  description       = "HTTPS to AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "flower_valkey" {
  security_group_id            = aws_security_group.flower.id
  description                  = "Valkey event bus"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.valkey.id
}

# --- the database: Postgres from the API, the worker, beat and the deploy's migration only ----

resource "aws_security_group" "database" {
  name        = "${local.name_prefix}-database"
  description = "RDS Postgres: 5432 from the API and the ECS tasks only"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_tasks" {
  for_each = {
    api   = aws_security_group.api.id
    tasks = aws_security_group.tasks.id
  }

  security_group_id            = aws_security_group.database.id
  description                  = "Postgres from the ${each.key} security group"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}
