# The API's public load balancer behind a web ACL with one rule: a client address that sends
# more than api_rate_limit_per_5_minutes requests in five minutes is refused (403) until its
# rate falls back. No managed rule groups: the common rule set refuses bodies over 8 KB, which
# is every photo upload, and each group costs more than the one rule this API needs.

resource "aws_wafv2_web_acl" "api" {
  # checkov:skip=CKV_AWS_192: the Log4j rule group protects Java applications; the API is Python.
  # checkov:skip=CKV2_AWS_31: no WAF logging; the rule's CloudWatch metrics and sampled requests show what it blocks.
  name        = "${local.name_prefix}-api"
  description = "Rate limit per client address on the API's load balancer"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "rate-per-client-address"
    priority = 1

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit                 = var.api_rate_limit_per_5_minutes
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name_prefix}-api-rate"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${local.name_prefix}-api"
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "api" {
  resource_arn = aws_lb.api.arn
  web_acl_arn  = aws_wafv2_web_acl.api.arn
}
