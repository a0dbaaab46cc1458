# Two Application Load Balancers, HTTPS only: the API's, internet-facing, and Flower's,
# internal, so the dashboard has a stable address and its basic auth never crosses the network
# in clear text.

resource "aws_lb" "api" {
  # checkov:skip=CKV_AWS_91: access logs need a log bucket with its own policy; CloudWatch has the API's own request logs.
  # checkov:skip=CKV2_AWS_20: the HTTP listener exists only to redirect to HTTPS (aws_lb_listener.http_redirect).
  # checkov:skip=CKV2_AWS_76: the Log4j rule group protects Java applications; the API is Python (waf.tf).
  # checkov:skip=CKV_AWS_150: deletion protection is on in production (below); staging's stays off so `terraform destroy` can remove it.
  name                       = "${local.name_prefix}-api"
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = aws_subnet.public[*].id
  drop_invalid_header_fields = true
  # Production's public entry point cannot be deleted by a stray apply or destroy.
  enable_deletion_protection = var.environment == "production"
  # Below uvicorn's keep-alive (65 s, docker/entrypoint.sh): the balancer closes idle
  # connections first.
  idle_timeout = 60
}

resource "aws_lb_target_group" "api" {
  name        = "${local.name_prefix}-api"
  port        = 8000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.this.id

  # Fast enough for rolling deploys; uvicorn finishes in-flight requests on SIGTERM.
  deregistration_delay = 30

  # Readiness: a task whose database does not answer gets no requests. The container's own
  # check is liveness (app/healthcheck.py): a database failover must not have ECS replace every
  # API task at once.
  health_check {
    path                = "/health/ready"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.api_certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_lb_listener" "http_redirect" {
  # checkov:skip=CKV_AWS_2: this listener only answers with a permanent redirect to HTTPS.
  # checkov:skip=CKV_AWS_103: as above, no traffic is served over it.
  load_balancer_arn = aws_lb.api.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

# --- Flower --------------------------------------------------------------------------------

resource "aws_lb" "flower" {
  # checkov:skip=CKV_AWS_91: access logs need a log bucket with its own policy; Flower is an internal operators' page.
  # checkov:skip=CKV2_AWS_28: no WAF on an internal load balancer reachable from flower_allowed_cidrs only, in front of basic auth.
  # checkov:skip=CKV_AWS_150: deletion protection would block `terraform destroy` of a staging stack; nothing is lost with it.
  name                       = "${local.name_prefix}-flower"
  internal                   = true
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.flower_alb.id]
  subnets                    = aws_subnet.private[*].id
  drop_invalid_header_fields = true
}

resource "aws_lb_target_group" "flower" {
  name        = "${local.name_prefix}-flower"
  port        = 5555
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.this.id

  deregistration_delay = 10

  # The load balancer cannot send credentials, and Flower answers 401 to any request without
  # them, /healthcheck included (worker/monitoring/flower_web.py), so 401 is what a healthy
  # Flower says here. Only 401: a 200 would mean the dashboard answers without credentials,
  # which must take it out of service, not count as healthy. Whether Flower itself works
  # (its /healthcheck with credentials) is the container health check's job (deploy/ecs).
  health_check {
    path                = "/healthcheck"
    matcher             = "401"
    interval            = 30
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "flower_https" {
  load_balancer_arn = aws_lb.flower.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.flower_certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.flower.arn
  }
}
