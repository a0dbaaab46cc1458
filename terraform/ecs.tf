# Cluster, the first revision of each task definition (rendered from deploy/ecs/*.json), and
# the four services. CI registers every later revision and points the services at it, so the
# services ignore task_definition drift; autoscaling owns the worker's desired count.

resource "aws_ecs_cluster" "this" {
  name = local.name_prefix

  # Container Insights also publishes RunningTaskCount per service, which the worker's
  # scaling and the "worker count at max" alarm read.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "this" {
  for_each = local.task_definitions

  family                   = each.value.family
  task_role_arn            = each.value.taskRoleArn
  execution_role_arn       = each.value.executionRoleArn
  network_mode             = each.value.networkMode
  requires_compatibilities = each.value.requiresCompatibilities
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  container_definitions    = jsonencode(each.value.containerDefinitions)

  runtime_platform {
    cpu_architecture        = each.value.runtimePlatform.cpuArchitecture
    operating_system_family = each.value.runtimePlatform.operatingSystemFamily
  }

  dynamic "volume" {
    for_each = each.value.volumes
    content {
      name = volume.value.name
    }
  }
}

resource "aws_ecs_service" "worker" {
  name            = "worker"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this["worker"].arn
  launch_type     = "FARGATE"
  desired_count   = var.worker_min_count
  propagate_tags  = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }
}

resource "aws_ecs_service" "beat" {
  name            = "beat"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this["beat"].arn
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"

  # Exactly one beat: a deploy stops the old task before it starts the new one (never two
  # schedulers; the sweeps are safe if it ever happens, but they should not race by design).
  desired_count                      = 1
  deployment_maximum_percent         = 100
  deployment_minimum_healthy_percent = 0

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition]
  }
}

resource "aws_ecs_service" "flower" {
  # Private: no public IP and no load balancer; reachable on 5555 from flower_allowed_cidrs
  # only, and Flower itself asks for FLOWER_BASIC_AUTH.
  name            = "flower"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this["flower"].arn
  launch_type     = "FARGATE"
  desired_count   = 1
  propagate_tags  = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  lifecycle {
    ignore_changes = [task_definition]
  }
}

resource "aws_ecs_service" "api" {
  name                              = "api"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this["api"].arn
  launch_type                       = "FARGATE"
  desired_count                     = var.api_desired_count
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8000
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition]
  }

  depends_on = [aws_lb_listener.https]
}
