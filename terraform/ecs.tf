# Cluster, the first revision of each task definition (rendered from deploy/ecs/*.json), and
# the four services. CI registers every later revision and points the services at it, so the
# services ignore task_definition drift; autoscaling owns the worker's desired count.
# Workers run on Fargate Spot beyond an on-demand base; beat, Flower and the API on on-demand
# Fargate (a singleton scheduler, an operator's view, and a service behind a load balancer).

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
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  # Only the worker names Spot; the default stays on demand (beat, Flower and the API set
  # launch_type FARGATE in any case).
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
  desired_count   = var.worker_min_count
  propagate_tags  = "SERVICE"

  # The first worker_on_demand_base tasks on on-demand Fargate; beyond them, on-demand and Spot
  # share the tasks by weight (1 to 3 by default: a quarter on demand). ECS never moves a task
  # from Spot to on demand when Spot has no capacity: it fails the placement and retries. With
  # a weight, the on-demand share still starts, so a Spot shortage costs the fleet its Spot
  # share, not everything beyond the base; the failed placements raise an alert (cloudwatch.tf).
  # Workers suit Spot: tasks are idempotent, acknowledged late, and end within the 120 s stop
  # window, which is also what a Spot reclaim gives (SIGTERM, then two minutes); a reclaimed
  # task's message returns to the queue for another worker.
  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = var.worker_on_demand_base
    weight            = var.worker_on_demand_weight
  }

  capacity_provider_strategy {
    capacity_provider = "FARGATE_SPOT"
    weight            = var.worker_spot_weight
  }

  # The provider changes a capacity provider strategy in place only with a new deployment
  # (otherwise it refuses the change or replaces the service); workers roll over safely.
  force_new_deployment = true

  # The strategy needs the cluster's capacity providers in place first.
  depends_on = [aws_ecs_cluster_capacity_providers.this]

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
  # Private: no public IP; reachable only through its internal load balancer (alb.tf), over
  # HTTPS, from flower_allowed_cidrs, and Flower itself asks for FLOWER_BASIC_AUTH.
  name                              = "flower"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this["flower"].arn
  launch_type                       = "FARGATE"
  desired_count                     = 1
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.flower.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.flower.arn
    container_name   = "flower"
    container_port   = 5555
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition]
  }

  depends_on = [aws_lb_listener.flower_https]
}

resource "aws_ecs_service" "api" {
  name                              = "api"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this["api"].arn
  launch_type                       = "FARGATE"
  desired_count                     = var.api_desired_count
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"

  # Its own group: reached from its load balancer only, and no way to the event bus.
  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.api.id]
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
