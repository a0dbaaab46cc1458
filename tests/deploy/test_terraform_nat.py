"""One NAT gateway and one private route table per zone in production (issue 19, item 10):
the invariants on the real stack and on planted mistakes, and terraform's own verdict on each
environment's variables."""

from __future__ import annotations

import pytest

from tests.deploy.checks import TERRAFORM_DIR, load_terraform
from tests.deploy.terraform_checks_nat import nat_problems
from tests.deploy.terraform_console import needs_terraform, terraform_console, variable_errors
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "vpc.tf",
        "nat_gateway_id = aws_nat_gateway.this[count.index % local.nat_gateway_count].id",
        "nat_gateway_id = aws_nat_gateway.this[0].id",
        "nat: each zone's default route must use its own zone's NAT gateway",
    ),
    (
        "vpc.tf",
        "  count = local.nat_gateway_count\n\n  allocation_id",
        "  count = 1\n\n  allocation_id",
        "nat: aws_nat_gateway needs count",
    ),
    (
        "vpc.tf",
        "  route_table_id = aws_route_table.private[count.index].id\n}",
        "  route_table_id = aws_route_table.private[0].id\n}",
        "nat: each private subnet must use its own zone's route table",
    ),
    (
        "vpc.tf",
        "route_table_ids   = aws_route_table.private[*].id",
        "route_table_ids   = [aws_route_table.private[0].id]",
        "nat: the S3 endpoint must be in every private route table",
    ),
    (
        "variables.tf",
        "One NAT gateway (and Elastic IP) in each zone, each private route table routing through "
        "its own zone's: a zone's failure then cuts only its own tasks off from ECR, SQS, Secrets "
        "Manager and CloudWatch. Required in production; false shares one ($32.85 a month less, "
        'docs/deployment.md)."\n  default     = true',
        'One NAT gateway per zone."\n  default     = false',
        "nat: nat_gateway_per_az must default to true",
    ),
]


def test_every_zone_has_its_own_route_table_and_nat_gateway() -> None:
    assert nat_problems(load_terraform()) == []


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


@needs_terraform
@pytest.mark.parametrize(("environment", "per_zone"), [("prod", True), ("staging", False)])
def test_production_has_a_nat_gateway_per_zone_and_staging_shares_one(
    environment: str, per_zone: bool
) -> None:
    found = terraform_console(TERRAFORM_DIR, "var.nat_gateway_per_az", environment=environment)
    assert found is per_zone


@needs_terraform
def test_terraform_refuses_production_with_one_nat_gateway() -> None:
    errors = variable_errors(
        TERRAFORM_DIR, {"environment": "production", "nat_gateway_per_az": False}
    )
    assert "production needs nat_gateway_per_az" in errors
    assert variable_errors(TERRAFORM_DIR, {"nat_gateway_per_az": False}) == ""
