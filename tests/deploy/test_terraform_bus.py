"""The API in a security group of its own, and the event bus behind TLS, an AUTH token and the
worker's, beat's and Flower's groups only (issue 19, item 11): the invariants on the real stack
and on planted mistakes, the old shared group among them."""

from __future__ import annotations

import pytest

from tests.deploy.checks import load_terraform
from tests.deploy.terraform_checks_bus import bus_problems
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "ecs.tf",
        "security_groups  = [aws_security_group.api.id]",
        "security_groups  = [aws_security_group.tasks.id]",
        "api: the service must use its own aws_security_group.api only",
    ),
    (
        "vpc.tf",
        'description                  = "Valkey from Flower"\n  ip_protocol                  = '
        '"tcp"\n  from_port                    = 6379\n  to_port                      = 6379\n'
        "  referenced_security_group_id = aws_security_group.flower.id",
        'description                  = "Valkey from the API"\n  ip_protocol                  = '
        '"tcp"\n  from_port                    = 6379\n  to_port                      = 6379\n'
        "  referenced_security_group_id = aws_security_group.api.id",
        "valkey: ingress valkey_from_flower admits more than worker, beat and Flower",
    ),
    (
        "vpc.tf",
        'description                  = "Postgres (RDS)"\n  ip_protocol                  = "tcp"\n'
        "  from_port                    = 5432\n  to_port                      = 5432\n"
        "  referenced_security_group_id = aws_security_group.database.id\n}\n\n# --- worker",
        'description                  = "Postgres (RDS)"\n  ip_protocol                  = "tcp"\n'
        "  from_port                    = 6379\n  to_port                      = 6379\n"
        "  referenced_security_group_id = aws_security_group.database.id\n}\n\n# --- worker",
        "api: egress api_postgres goes beyond HTTPS and Postgres",
    ),
    (
        "elasticache.tf",
        "  auth_token                 = data.aws_secretsmanager_secret_version.events_auth_token"
        ".secret_string\n",
        "",
        "valkey: the bus needs the AUTH token",
    ),
    (
        "elasticache.tf",
        "transit_encryption_enabled = true",
        "transit_encryption_enabled = false",
        "valkey: the bus must require TLS",
    ),
    (
        "secretsmanager.tf",
        '"rediss://:%s@%s:%d/0?ssl_cert_reqs=required"',
        '"redis://%s%s:%d/0"',
        "valkey: EVENTS_BROKER_URL must be rediss:// with the AUTH token",
    ),
]


def test_the_api_is_apart_and_the_bus_is_closed_to_it() -> None:
    assert bus_problems(load_terraform()) == []


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found
