# Log groups (one per service, with retention), the operational alarms, and the alarms that
# drive the worker's step scaling (autoscaling.tf).

resource "aws_cloudwatch_log_group" "service" {
  # checkov:skip=CKV_AWS_158: AWS-managed encryption of log data; no customer-managed key in this stack.
  # checkov:skip=CKV_AWS_338: retention is a variable (30 days staging, 90 production), kept short on purpose for cost.
  for_each = local.services

  name              = "${local.log_group_prefix}/${each.key}"
  retention_in_days = var.log_retention_days
}

locals {
  queue_dimensions  = { QueueName = aws_sqs_queue.main.name }
  worker_dimensions = { ClusterName = aws_ecs_cluster.this.name, ServiceName = aws_ecs_service.worker.name }
  beat_dimensions   = { ClusterName = aws_ecs_cluster.this.name, ServiceName = aws_ecs_service.beat.name }
  api_lb_dimensions = { LoadBalancer = aws_lb.api.arn_suffix }
  api_target_dimensions = {
    LoadBalancer = aws_lb.api.arn_suffix
    TargetGroup  = aws_lb_target_group.api.arn_suffix
  }
  flower_target_dimensions = {
    LoadBalancer = aws_lb.flower.arn_suffix
    TargetGroup  = aws_lb_target_group.flower.arn_suffix
  }
  alarm_actions = [aws_sns_topic.alarms.arn]
}

# --- operational alarms --------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "dead_letter_not_empty" {
  alarm_name          = "${local.name_prefix}-dlq-not-empty"
  alarm_description   = "Messages reached ${aws_sqs_queue.dead_letter.name}: a task was delivered ${var.max_receive_count} times without finishing. Inspect, fix, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  alarm_name          = "${local.name_prefix}-oldest-message-age"
  alarm_description   = "The oldest waiting task is older than ${var.oldest_message_alarm_seconds} s: the fleet is not keeping up, or not running."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = local.queue_dimensions
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.oldest_message_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "worker_count_at_max" {
  alarm_name          = "${local.name_prefix}-worker-count-at-max"
  alarm_description   = "The worker service has run at its maximum of ${var.worker_max_count} tasks for 15 minutes; raise worker_max_count or expect a growing backlog."
  namespace           = "ECS/ContainerInsights"
  metric_name         = "RunningTaskCount"
  dimensions          = local.worker_dimensions
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.worker_max_count
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Beat is a singleton: without it, jobs whose publish failed are never queued again, and jobs
# whose worker died stay `processing`. A deploy stops the old beat before it starts the new one,
# so a minute or two without a task is normal; five is not. Missing data counts as not running:
# a service without a task may report no datapoint at all.
resource "aws_cloudwatch_metric_alarm" "beat_not_running" {
  alarm_name          = "${local.name_prefix}-beat-not-running"
  alarm_description   = "No beat task has run for 5 minutes: the sweeps (republish, recover) are not running. Check the beat service's events and stopped tasks."
  namespace           = "ECS/ContainerInsights"
  metric_name         = "RunningTaskCount"
  dimensions          = local.beat_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# 5xx from the load balancer itself (no healthy target, a timeout) and from the API, together.
resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${local.name_prefix}-api-5xx"
  alarm_description   = "The API's load balancer answered more than ${var.api_5xx_alarm_threshold} 5xx in 5 minutes (its own HTTPCode_ELB_5XX plus the API's HTTPCode_Target_5XX)."
  evaluation_periods  = 1
  threshold           = var.api_5xx_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "answers_5xx"
    expression  = "FILL(elb_5xx, 0) + FILL(target_5xx, 0)"
    label       = "5xx answers of the API's load balancer and of the API"
    return_data = true
  }

  metric_query {
    id = "elb_5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = local.api_lb_dimensions
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "target_5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.api_lb_dimensions
      stat        = "Sum"
      period      = 300
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_unhealthy_hosts" {
  alarm_name          = "${local.name_prefix}-api-unhealthy-hosts"
  alarm_description   = "An API task has failed the load balancer's health check (/health) for 3 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.api_target_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_no_healthy_host" {
  alarm_name          = "${local.name_prefix}-api-no-healthy-host"
  alarm_description   = "The API has had no healthy task behind its load balancer for 3 minutes: every request fails."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = local.api_target_dimensions
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "flower_unhealthy" {
  alarm_name          = "${local.name_prefix}-flower-unhealthy"
  alarm_description   = "Flower has had no healthy task behind its internal load balancer for 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = local.flower_target_dimensions
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- scaling alarms (actions: autoscaling.tf) ----------------------------------------------

# Work is waiting and no worker runs: target tracking cannot start from zero tasks (its
# backlog-per-task metric has no tasks to divide by), so this alarm starts the fleet.
resource "aws_cloudwatch_metric_alarm" "worker_work_waiting_at_zero" {
  alarm_name          = "${local.name_prefix}-worker-work-waiting-at-zero"
  alarm_description   = "Messages are waiting and no worker task runs: scale the worker service out from zero."
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.worker_scale_out_from_zero.arn]

  metric_query {
    id          = "waiting_without_workers"
    expression  = "IF(FILL(running, 0) == 0, visible, 0)"
    label       = "Messages waiting while no worker runs"
    return_data = true
  }

  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = local.queue_dimensions
      stat        = "Maximum"
      period      = 60
    }
  }

  metric_query {
    id = "running"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions  = local.worker_dimensions
      stat        = "Maximum"
      period      = 60
    }
  }
}

# Nothing waiting and nothing in flight for a while: let the fleet go to zero.
resource "aws_cloudwatch_metric_alarm" "worker_queue_idle" {
  alarm_name          = "${local.name_prefix}-worker-queue-idle"
  alarm_description   = "The queue has been empty (nothing waiting, nothing in flight) for ${var.worker_idle_minutes_before_zero} minutes: scale the worker service to zero."
  evaluation_periods  = var.worker_idle_minutes_before_zero
  threshold           = 0
  comparison_operator = "LessThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_appautoscaling_policy.worker_scale_in_to_zero.arn]

  metric_query {
    id          = "outstanding"
    expression  = "FILL(visible, 0) + FILL(in_flight, 0)"
    label       = "Messages waiting or in flight"
    return_data = true
  }

  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = local.queue_dimensions
      stat        = "Maximum"
      period      = 60
    }
  }

  metric_query {
    id = "in_flight"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesNotVisible"
      dimensions  = local.queue_dimensions
      stat        = "Maximum"
      period      = 60
    }
  }
}

# --- ECS could not place a task ---------------------------------------------------------------
# A service that cannot start a task (Fargate Spot out of capacity, the account's vCPU quota,
# no address left in a subnet) emits SERVICE_TASK_PLACEMENT_FAILURE and retries; nothing else
# says so, and the fleet is silently smaller than asked. Each event reaches the alarm topic.

locals {
  task_placement_failure_pattern = {
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Service Action"]
    detail = {
      eventName  = ["SERVICE_TASK_PLACEMENT_FAILURE"]
      clusterArn = [aws_ecs_cluster.this.arn]
    }
  }
}

resource "aws_cloudwatch_event_rule" "task_placement_failures" {
  name          = "${local.name_prefix}-task-placement-failures"
  description   = "ECS could not place a task of a service in ${local.name_prefix}"
  event_pattern = jsonencode(local.task_placement_failure_pattern)
}

resource "aws_cloudwatch_event_target" "task_placement_failures" {
  rule = aws_cloudwatch_event_rule.task_placement_failures.name
  arn  = aws_sns_topic.alarms.arn

  input_transformer {
    input_paths = {
      service = "$.resources[0]"
      reason  = "$.detail.reason"
      time    = "$.time"
    }
    input_template = "\"ECS could not place a task of <service> at <time>: <reason>. The service is running fewer tasks than it asked for (Spot capacity, quota, or subnet addresses).\""
  }
}
