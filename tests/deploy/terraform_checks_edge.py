"""The public edge and the operators' door (waf.tf, alb.tf, vpc.tf): a WAF rate rule on the
API's load balancer, its deletion protection in production, and Flower reachable from a
network narrower than 10.0.0.0/8 (the VPC's own unless the operators' is named)."""

from __future__ import annotations

from tests.deploy.checks import Terraform, block


def edge_problems(tf: Terraform) -> list[str]:
    return waf_problems(tf) + api_balancer_problems(tf) + flower_cidr_problems(tf)


def waf_problems(tf: Terraform) -> list[str]:
    problems = []
    acls = tf.of_type("aws_wafv2_web_acl")
    rate_limited = [
        name
        for name, acl in acls.items()
        if acl.get("scope") == "REGIONAL"
        and any(
            block(rule, "action").get("block") is not None
            and block(block(rule, "statement"), "rate_based_statement").get("limit")
            == "${var.api_rate_limit_per_5_minutes}"
            and block(block(rule, "statement"), "rate_based_statement").get("aggregate_key_type")
            == "IP"
            for rule in acl.get("rule", [])
        )
    ]
    if not rate_limited:
        problems.append(
            "waf: a REGIONAL web ACL needs a rule that blocks a client address above "
            "var.api_rate_limit_per_5_minutes"
        )
    associated = [
        body
        for body in tf.of_type("aws_wafv2_web_acl_association").values()
        if body.get("resource_arn") == "${aws_lb.api.arn}"
        and any(body.get("web_acl_arn") == f"${{aws_wafv2_web_acl.{n}.arn}}" for n in rate_limited)
    ]
    if not associated:
        problems.append("waf: the rate-limiting web ACL must be associated with aws_lb.api")
    return problems


def api_balancer_problems(tf: Terraform) -> list[str]:
    balancer = tf.of_type("aws_lb").get("api", {})
    if balancer.get("enable_deletion_protection") != '${var.environment == "production"}':
        return ["alb: the API's load balancer needs deletion protection in production"]
    return []


def flower_cidr_problems(tf: Terraform) -> list[str]:
    problems = []
    expected = "${length(var.flower_allowed_cidrs) > 0 ? var.flower_allowed_cidrs : [var.vpc_cidr]}"
    if tf.locals.get("flower_allowed_cidrs") != expected:
        problems.append("flower: local.flower_allowed_cidrs must default to the VPC's CIDR")
    rule = tf.of_type("aws_vpc_security_group_ingress_rule").get("flower_alb_https", {})
    if rule.get("for_each") != "${toset(local.flower_allowed_cidrs)}":
        problems.append("flower: its load balancer's ingress must use local.flower_allowed_cidrs")
    return problems
