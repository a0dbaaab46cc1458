# Worker autoscaling on the SQS backlog per task, from zero and back to zero.
#
#   0 tasks, messages arrive   -> alarm worker_work_waiting_at_zero -> step policy starts one task
#                                 per worker_backlog_per_task_target waiting messages, up to max
#                                 (101 waiting, target 100: 2 tasks; a 10 000-image burst: max)
#   1..max tasks               -> target tracking keeps (waiting + in flight) / running tasks
#                                 near worker_backlog_per_task_target
#   queue empty for N minutes  -> alarm worker_queue_idle -> step policy sets 0 tasks
#
# A scale-in (or a Spot reclaim) stops tasks with SIGTERM: Celery's warm shutdown finishes the
# running task, which the hard time limit (at most 110 s) ends within stopTimeout (120 s,
# Fargate's maximum); a task killed anyway is not acknowledged (acks_late), and SQS hands its
# message out again after the visibility timeout.

# Scale-out from zero in steps: k tasks for (k-1)*T < waiting <= k*T messages, T being
# worker_backlog_per_task_target, so the first tasks match the backlog instead of the maximum.
# Bounds are relative to the alarm threshold (1 waiting message), lower bound inclusive and
# upper exclusive: step k spans [(k-1)*T, k*T) above 1, i.e. waiting in ((k-1)*T, k*T]. The last
# step is open-ended and sets worker_max_count. Application Auto Scaling allows 20 steps per
# policy (its default quota), so a fleet larger than 20 tasks jumps from 19 to the maximum.
locals {
  worker_scale_out_step_count = min(var.worker_max_count, 20)
  worker_scale_out_steps = [
    for k in range(1, local.worker_scale_out_step_count + 1) : {
      lower = (k - 1) * var.worker_backlog_per_task_target
      upper = k < local.worker_scale_out_step_count ? k * var.worker_backlog_per_task_target : null
      tasks = k < local.worker_scale_out_step_count ? k : var.worker_max_count
    }
  ]
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_min_count
  max_capacity       = var.worker_max_count
}

resource "aws_appautoscaling_policy" "worker_backlog_per_task" {
  name               = "${local.name_prefix}-worker-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_backlog_per_task_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    customized_metric_specification {
      metrics {
        id          = "backlog_per_task"
        expression  = "(visible + in_flight) / running"
        label       = "Messages waiting or in flight per running worker task"
        return_data = true
      }

      metrics {
        id          = "visible"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.main.name
            }
          }
        }
      }

      metrics {
        id          = "in_flight"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesNotVisible"
            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.main.name
            }
          }
        }
      }

      metrics {
        id          = "running"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }
    }
  }
}

resource "aws_appautoscaling_policy" "worker_scale_out_from_zero" {
  name               = "${local.name_prefix}-worker-scale-out-from-zero"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ExactCapacity"
    cooldown                = 60
    metric_aggregation_type = "Maximum"

    dynamic "step_adjustment" {
      for_each = local.worker_scale_out_steps
      content {
        metric_interval_lower_bound = step_adjustment.value.lower
        metric_interval_upper_bound = step_adjustment.value.upper
        scaling_adjustment          = step_adjustment.value.tasks
      }
    }
  }
}

resource "aws_appautoscaling_policy" "worker_scale_in_to_zero" {
  name               = "${local.name_prefix}-worker-scale-in-to-zero"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ExactCapacity"
    cooldown                = 300
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_upper_bound = 0
      scaling_adjustment          = var.worker_min_count
    }
  }
}
