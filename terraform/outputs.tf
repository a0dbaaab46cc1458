output "ecr_repository_url" {
  description = "Where CI pushes the runtime image (worker, beat, flower; tag = commit SHA)."
  value       = aws_ecr_repository.this.repository_url
}

output "ecr_api_repository_url" {
  description = "Where CI pushes the API image, the Dockerfile's small `api` target (tag = commit SHA)."
  value       = aws_ecr_repository.api.repository_url
}

output "cluster_name" {
  description = "The ECS cluster running every service."
  value       = aws_ecs_cluster.this.name
}

output "service_names" {
  description = "ECS service names, by process type."
  value = {
    worker = aws_ecs_service.worker.name
    beat   = aws_ecs_service.beat.name
    flower = aws_ecs_service.flower.name
    api    = aws_ecs_service.api.name
  }
}

output "api_url" {
  description = "The API's load balancer (point a DNS name covered by api_certificate_arn at it)."
  value       = "https://${aws_lb.api.dns_name}"
}

output "flower_url" {
  description = "Flower, through its internal load balancer, from flower_allowed_cidrs only (point a private DNS name covered by flower_certificate_arn at it)."
  value       = "https://${aws_lb.flower.dns_name}"
}

output "queue_url" {
  description = "The task queue."
  value       = aws_sqs_queue.main.url
}

output "dead_letter_queue_url" {
  description = "The dead-letter queue; messages land here after max_receive_count deliveries."
  value       = aws_sqs_queue.dead_letter.url
}

output "images_bucket" {
  description = "The images bucket (originals and results under s3_images_prefix)."
  value       = aws_s3_bucket.images.bucket
}

output "deploy_role_arn" {
  description = "Role the deploy workflow assumes (GitHub environment variable AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.deploy.arn
}

output "deploy_values_parameter" {
  description = "SSM parameter holding the placeholder values CI renders deploy/ecs/*.json with."
  value       = aws_ssm_parameter.deploy_values.name
}

output "private_subnet_ids" {
  description = "Subnets of the tasks (the smoke test runs there too)."
  value       = aws_subnet.private[*].id
}

output "tasks_security_group_id" {
  description = "Security group of the tasks (the smoke test runs with it)."
  value       = aws_security_group.tasks.id
}

output "operator_task_role_arn" {
  description = "The dlq commands' task role: taskRoleArn in the run-task overrides (docs/operations.md)"
  value       = aws_iam_role.operator.arn
}

output "operator_run_task_policy_arn" {
  description = "Attach to the on-call operators' group or permission set: run the operator commands as worker tasks"
  value       = aws_iam_policy.operator_run_task.arn
}
