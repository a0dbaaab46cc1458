"""TLS to the database in the deploy: every task definition that reaches Postgres verifies the
server (DATABASE_SSLMODE=verify-full) against a CA bundle its image really holds, and that
bundle holds the root of the CA terraform gives the instance, for the stack's region.

The image's files are read from the Dockerfile: the COPY instructions from the build context
of the service's final stage and of the stages it is built on.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.deploy.test_dockerfile import stages
from tests.deploy.test_image_contents import in_build_context

# The image target each service's task definition runs (the api has its own small image).
IMAGE_TARGETS = {"api": "api", "worker": "runtime", "beat": "runtime", "flower": "runtime"}
# rds.tf's ca_cert_identifier -> the words ending the subject of that CA's regional roots.
CA_ROOT_SUFFIX = {
    "rds-ca-rsa2048-g1": "Root CA RSA2048 G1",
    "rds-ca-rsa4096-g1": "Root CA RSA4096 G1",
    "rds-ca-ecc384-g1": "Root CA ECC384 G1",
}


def image_files(dockerfile: Path, target: str) -> dict[str, str]:
    """Path in the image -> its source in the build context, for `target` and its bases."""
    named = stages(dockerfile)
    chain, stage = [], target
    while stage in named:
        chain.insert(0, stage)
        stage = _parent(dockerfile, stage)
    files: dict[str, str] = {}
    for name in chain:
        for keyword, args in named[name]:
            if keyword != "COPY" or "--from=" in args:
                continue
            *sources, destination = [w for w in args.split() if not w.startswith("--")]
            for source in sources:
                path = destination + Path(source).name if destination.endswith("/") else destination
                files[path] = source
    return files


def _parent(dockerfile: Path, stage: str) -> str:
    found = re.search(
        rf"^FROM\s+(?:--\S+\s+)*(\S+)\s+AS\s+{re.escape(stage)}\s*$",
        dockerfile.read_text(),
        re.MULTILINE | re.IGNORECASE,
    )
    return found.group(1) if found else ""


def environment_of(task_definition: dict[str, Any]) -> dict[str, str]:
    (container,) = task_definition["containerDefinitions"]
    return {item["name"]: item["value"] for item in container.get("environment", [])}


def bundle_problems(bundle: Path, *, ca_identifier: str, regions: set[str]) -> list[str]:
    """The bundle parses, every certificate is a CA still valid, and each region's root of
    the instance's CA is in it."""
    try:
        certificates = x509.load_pem_x509_certificates(bundle.read_bytes())
    except ValueError as error:
        return [f"{bundle.name}: not a PEM bundle ({error})"]
    problems, now, subjects = [], datetime.now(UTC), set()
    for certificate in certificates:
        (name,) = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        subjects.add(str(name.value))
        if certificate.not_valid_after_utc < now:
            problems.append(f"{bundle.name}: {name.value} expired")
        if not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            problems.append(f"{bundle.name}: {name.value} is not a CA")
    suffix = CA_ROOT_SUFFIX.get(ca_identifier, f"<unknown CA {ca_identifier}>")
    for region in sorted(regions):
        if f"Amazon RDS {region} {suffix}" not in subjects:
            problems.append(f"{bundle.name}: no Amazon RDS {region} {suffix} ({ca_identifier})")
    return problems


def database_tls_problems(
    task_definitions: dict[str, dict[str, Any]],
    root: Path,
    *,
    ca_identifier: str,
    regions: set[str],
) -> list[str]:
    """Problems of the rendered task definitions of the services that reach the database,
    against the Dockerfile and the files under `root` (a checkout, or a planted copy)."""
    problems = []
    for service, task_definition in task_definitions.items():
        environment = environment_of(task_definition)
        if "DATABASE_SECRET_ARN" not in environment:
            continue  # no database (Flower)
        mode = environment.get("DATABASE_SSLMODE")
        if mode != "verify-full":
            problems.append(f"{service}: DATABASE_SSLMODE is {mode!r}, not 'verify-full'")
        path = environment.get("DATABASE_SSLROOTCERT", "")
        source = image_files(root / "Dockerfile", IMAGE_TARGETS[service]).get(path)
        if source is None:
            problems.append(
                f"{service}: DATABASE_SSLROOTCERT {path!r} is not a file its image copies"
            )
            continue
        dockerignore = (root / ".dockerignore").read_text()
        if not (root / source).is_file() or not in_build_context(source, dockerignore):
            problems.append(f"{service}: {source} is not in the build context")
            continue
        problems += bundle_problems(root / source, ca_identifier=ca_identifier, regions=regions)
    return problems


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
