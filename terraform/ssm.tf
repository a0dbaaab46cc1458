# The values CI needs to render deploy/ecs/*.json for a new image: every placeholder but
# `image`. Terraform owns them; the deploy workflow reads this parameter and never guesses.

resource "aws_ssm_parameter" "deploy_values" {
  # checkov:skip=CKV2_AWS_34: ARNs and names only, no secret; a String keeps the deploy role free of kms:Decrypt.
  name        = "/${var.name}/${var.environment}/deploy-values"
  description = "Placeholder values for deploy/render.py (everything but the image)"
  type        = "String"
  tier        = "Standard"
  value = jsonencode(merge(local.task_definition_values, {
    # Not placeholders: where the deploy workflow pushes the images and runs the one-off tasks,
    # and where it checks the API (its public load balancer) and Flower (its internal load
    # balancer's targets, which only the ELB API can see from a GitHub runner).
    api_repository          = aws_ecr_repository.api.name
    cluster                 = aws_ecs_cluster.this.name
    private_subnet_ids      = join(",", aws_subnet.private[*].id)
    tasks_security_group_id = aws_security_group.tasks.id
    api_load_balancer       = aws_lb.api.dns_name
    api_domain_name         = var.api_domain_name
    flower_target_group     = aws_lb_target_group.flower.arn
    operator_task_role_arn  = aws_iam_role.operator.arn
  }))
}
