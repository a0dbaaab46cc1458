"""A WAF rate rule on the API's load balancer, deletion protection in production, and Flower's
door narrower than 10.0.0.0/8 (issue 19, item 15): the invariants on the real stack, on
planted mistakes, and terraform's own verdict on the variables."""

from __future__ import annotations

import pytest

from tests.deploy.checks import TERRAFORM_DIR, load_terraform
from tests.deploy.terraform_checks_edge import edge_problems
from tests.deploy.terraform_console import needs_terraform, terraform_console, variable_errors
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "waf.tf",
        "resource_arn = aws_lb.api.arn",
        "resource_arn = aws_lb.flower.arn",
        "waf: the rate-limiting web ACL must be associated with aws_lb.api",
    ),
    (
        "waf.tf",
        "    action {\n      block {}\n    }",
        "    action {\n      count {}\n    }",
        "waf: a REGIONAL web ACL needs a rule that blocks",
    ),
    (
        "alb.tf",
        'enable_deletion_protection = var.environment == "production"',
        "enable_deletion_protection = false",
        "alb: the API's load balancer needs deletion protection in production",
    ),
    (
        "vpc.tf",
        "for_each = toset(local.flower_allowed_cidrs)",
        'for_each = toset(["10.0.0.0/8"])',
        "flower: its load balancer's ingress must use local.flower_allowed_cidrs",
    ),
]


def test_the_edge_is_rate_limited_protected_and_narrow() -> None:
    assert edge_problems(load_terraform()) == []


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


@needs_terraform
@pytest.mark.parametrize("cidrs", [["10.0.0.0/8"], ["0.0.0.0/0"], ["10.41.0.0/16", "not-a-cidr"]])
def test_terraform_refuses_a_wide_flower_network(cidrs: list[str]) -> None:
    assert "Flower is private" in variable_errors(TERRAFORM_DIR, {"flower_allowed_cidrs": cidrs})


@needs_terraform
def test_terraform_accepts_an_operators_network() -> None:
    assert variable_errors(TERRAFORM_DIR, {"flower_allowed_cidrs": ["10.200.8.0/22"]}) == ""


@needs_terraform
@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_each_environment_lets_flower_default_to_its_vpc(environment: str) -> None:
    """Neither tfvars names 10.0.0.0/8 (or any network) any more: each opens to its VPC."""
    found = terraform_console(
        TERRAFORM_DIR,
        "length(var.flower_allowed_cidrs) > 0 ? var.flower_allowed_cidrs : [var.vpc_cidr]",
        environment=environment,
    )
    assert found == [{"prod": "10.41.0.0/16", "staging": "10.40.0.0/16"}[environment]]
