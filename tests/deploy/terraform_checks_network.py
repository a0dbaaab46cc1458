"""Flower's way in (alb.tf, vpc.tf, ecs.tf): only through its internal load balancer, over
HTTPS, with port 5555 closed to every network range."""

from __future__ import annotations

from typing import Any

from tests.deploy.checks import Terraform, block, references


def ingress_rules_on_port(tf: Terraform, port: int) -> dict[str, dict[str, Any]]:
    """Ingress rules that open `port` (ip_protocol "-1" opens every port)."""
    found = {}
    for name, rule in tf.of_type("aws_vpc_security_group_ingress_rule").items():
        low, high = rule.get("from_port"), rule.get("to_port")
        every_port = str(rule.get("ip_protocol")) == "-1"
        if every_port or (isinstance(low, int) and isinstance(high, int) and low <= port <= high):
            found[name] = rule
    return found


def flower_problems(tf: Terraform) -> list[str]:
    """Flower only through its internal load balancer, over HTTPS, from the allowed CIDRs."""
    problems = (
        flower_balancer_problems(tf) + flower_service_problems(tf) + flower_ingress_problems(tf)
    )
    if not references(tf.outputs.get("flower_url"), "aws_lb.flower.dns_name"):
        problems.append("flower: no output flower_url")
    return problems


def flower_balancer_problems(tf: Terraform) -> list[str]:
    """An internal load balancer in private subnets, HTTPS listeners only, a 401 health check."""
    problems = []
    balancer = tf.of_type("aws_lb").get("flower", {})
    if balancer.get("internal") is not True or not references(balancer, "aws_subnet.private"):
        problems.append(
            "flower: needs an internal load balancer (aws_lb.flower) in private subnets"
        )
    if balancer.get("security_groups") != ["${aws_security_group.flower_alb.id}"]:
        problems.append("flower: its load balancer must use aws_security_group.flower_alb")
    listeners = [
        body
        for body in tf.of_type("aws_lb_listener").values()
        if references(body.get("load_balancer_arn"), "aws_lb.flower.")
    ]
    if not listeners:
        problems.append("flower: its load balancer has no listener")
    for listener in listeners:
        if (
            listener.get("protocol") != "HTTPS"
            or listener.get("ssl_policy") != "ELBSecurityPolicy-TLS13-1-2-2021-06"
            or listener.get("certificate_arn") != "${var.flower_certificate_arn}"
        ):
            problems.append(
                "flower: every listener of its load balancer must be HTTPS (TLS 1.3 policy, "
                "var.flower_certificate_arn): basic auth must not cross the network in clear"
            )
    target = tf.of_type("aws_lb_target_group").get("flower", {})
    check = block(target, "health_check")
    if target.get("port") != 5555 or check.get("path") != "/healthcheck":
        problems.append("flower: target group on 5555, health check /healthcheck")
    if check.get("matcher") != "401":
        problems.append(
            "flower: health check matcher must be 401 (Flower refuses a request without "
            "credentials; a 200 would mean it serves without authentication)"
        )
    return problems


def flower_service_problems(tf: Terraform) -> list[str]:
    """The service behind its target group, in its own security group."""
    problems = []
    service = tf.resource("aws_ecs_service", "flower")
    attached = block(service, "load_balancer")
    if not references(attached.get("target_group_arn"), "aws_lb_target_group.flower.") or (
        attached.get("container_port") != 5555
    ):
        problems.append("flower: the service must sit behind aws_lb_target_group.flower on 5555")
    groups = block(service, "network_configuration").get("security_groups")
    if groups != ["${aws_security_group.flower.id}"]:
        problems.append("flower: the service must use its own aws_security_group.flower only")
    return problems


def flower_ingress_problems(tf: Terraform) -> list[str]:
    """5555 reached from the balancer only; the balancer reached on 443 only."""
    problems = []
    for name, rule in ingress_rules_on_port(tf, 5555).items():
        if any(key in rule for key in ("cidr_ipv4", "cidr_ipv6", "prefix_list_id")):
            problems.append(f"flower: ingress {name} leaves port 5555 open to network ranges")
        elif rule.get("referenced_security_group_id") != "${aws_security_group.flower_alb.id}":
            problems.append(f"flower: ingress {name} reaches 5555 from outside Flower's balancer")
    for name, rule in tf.of_type("aws_vpc_security_group_ingress_rule").items():
        if rule.get("security_group_id") == "${aws_security_group.flower_alb.id}" and (
            rule.get("from_port") != 443 or rule.get("to_port") != 443
        ):
            problems.append(f"flower: its load balancer accepts more than HTTPS ({name})")
    return problems
