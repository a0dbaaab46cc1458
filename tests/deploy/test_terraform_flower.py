"""terraform/'s way into Flower: only its internal load balancer, over HTTPS, port 5555
closed to every network range; the invariants' planted mistakes, the old open port included."""

from __future__ import annotations

import pytest

from tests.deploy.checks import load_terraform
from tests.deploy.terraform_checks_network import flower_problems
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "ecs.tf",
        "security_groups  = [aws_security_group.flower.id]",
        "security_groups  = [aws_security_group.tasks.id]",
        "its own aws_security_group.flower only",
    ),
    (
        "ecs.tf",
        "target_group_arn = aws_lb_target_group.flower.arn",
        "target_group_arn = aws_lb_target_group.api.arn",
        "behind aws_lb_target_group.flower",
    ),
    ("alb.tf", "internal                   = true", "internal = false", "internal load balancer"),
    (
        "alb.tf",
        "certificate_arn   = var.flower_certificate_arn",
        "certificate_arn   = var.api_certificate_arn",
        "must be HTTPS",
    ),
    ("alb.tf", 'matcher             = "401"', 'matcher = "200-401"', "matcher must be 401"),
    (
        "vpc.tf",
        'HTTPS to Flower from the operators\' private network"\n  ip_protocol       = "tcp"\n'
        "  from_port         = 443\n  to_port           = 443",
        'HTTPS to Flower"\n  ip_protocol = "tcp"\n  from_port = 0\n  to_port = 65535',
        "leaves port 5555 open to network ranges",
    ),
    ("outputs.tf", 'output "flower_url"', 'output "flower"', "no output flower_url"),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


def test_planted_flower_port_open_to_a_network_is_refused(planted) -> None:
    """The old rule: Flower's basic auth over plain HTTP on 5555, open to flower_allowed_cidrs."""
    root = planted("terraform")
    with (root / "terraform/vpc.tf").open("a") as handle:
        handle.write(
            '\nresource "aws_vpc_security_group_ingress_rule" "tasks_flower_from_operators" {\n'
            "  for_each          = toset(var.flower_allowed_cidrs)\n"
            "  security_group_id = aws_security_group.tasks.id\n"
            '  ip_protocol       = "tcp"\n'
            "  from_port         = 5555\n"
            "  to_port           = 5555\n"
            "  cidr_ipv4         = each.value\n}\n"
        )
    found = flower_problems(load_terraform(root / "terraform"))
    assert found == [
        "flower: ingress tasks_flower_from_operators leaves port 5555 open to network ranges"
    ]


def test_planted_plain_http_listener_on_flower_is_refused(planted) -> None:
    root = planted("terraform")
    with (root / "terraform/alb.tf").open("a") as handle:
        handle.write(
            '\nresource "aws_lb_listener" "flower_http" {\n'
            "  load_balancer_arn = aws_lb.flower.arn\n"
            "  port              = 80\n"
            '  protocol          = "HTTP"\n}\n'
        )
    found = flower_problems(load_terraform(root / "terraform"))
    assert any("every listener of its load balancer must be HTTPS" in p for p in found), found
