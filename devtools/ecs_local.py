"""ECS task definitions run on this machine: deploy/ecs/*.json rendered and started with podman.

A `LocalAccount` stands in for the AWS account terraform builds: moto_server holds the
secrets, the queue with its DLQ and the bucket; the local Postgres and Redis hold the
database and the events bus. `run_task` renders a service's task definition with the
same renderer CI uses for a deploy (deploy/render.py), resolves its `secrets` from Secrets
Manager as the ECS agent does, and runs the container with the definition's own user,
read-only root, /tmp volume, init process and command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from deploy.render import load_template, render
from devtools import podman

REPO_ROOT = Path(__file__).resolve().parent.parent
# Keys for moto_server; on Fargate the task role's credentials arrive the same way, as env.
AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# terraform's defaults (variables.tf), inside app/time_limits.py's rule: the task definitions
# and the local setup, which reads them through Settings, must agree on them.
TIME_LIMITS = {
    "sqs_visibility_timeout": "300",
    "task_soft_time_limit": "90",
    "task_time_limit": "100",
}

# The task definitions verify RDS's certificate (DATABASE_SSLMODE=verify-full); the local
# Postgres speaks no TLS, so its run connects as libpq does by default. The CA bundle path
# stays as rendered: the image carries it either way.
LOCAL_DATABASE_TLS = {"DATABASE_SSLMODE": "prefer"}


@dataclass
class LocalAccount:
    """What terraform and the operator would have created, on loopback."""

    aws_endpoint: str
    database_name: str
    events_broker_url: str
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    api_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    flower_user_password: str = field(default_factory=lambda: f"operator:{uuid.uuid4().hex}")
    secret_arns: dict[str, str] = field(default_factory=dict)

    @property
    def queue_name(self) -> str:
        return f"image-processing-{self.tag}"

    @property
    def bucket(self) -> str:
        return f"image-processor-{self.tag}"

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_endpoint, **_boto_credentials())

    def provision(self) -> None:
        """Secrets, bucket, queue and its DLQ, as terraform and docs/deployment.md make them."""
        database = {
            "host": "127.0.0.1",
            "port": 5432,
            "username": "postgres",
            "password": "trust-auth-ignores-it",
            "dbname": self.database_name,
        }
        for placeholder, value in {
            "database_secret_arn": json.dumps(database),
            "api_key_secret_arn": self.api_key,
            "flower_basic_auth_secret_arn": self.flower_user_password,
            "events_broker_url_secret_arn": self.events_broker_url,
        }.items():
            name = f"{self.tag}/{placeholder.removesuffix('_secret_arn')}"
            created = self.client("secretsmanager").create_secret(Name=name, SecretString=value)
            self.secret_arns[placeholder] = created["ARN"]
        # The very command compose's aws-setup runs, with this account's names in its settings.
        environment = {**self.setup_environment(), "PYTHONPATH": str(REPO_ROOT)}
        subprocess.run(
            [sys.executable, "-m", "devtools.local_aws"],
            env={**os.environ, **environment},
            check=True,
            capture_output=True,
            timeout=120,
        )

    def setup_environment(self) -> dict[str, str]:
        return {
            **AWS_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "IMAGES_BUCKET": self.bucket,
            "IMAGE_PROCESSING_QUEUE_NAME": self.queue_name,
            **{name.upper(): value for name, value in TIME_LIMITS.items()},
        }

    def values(self, image: str) -> dict[str, str]:
        """terraform's values for the task-definition placeholders (terraform/ssm.tf)."""
        return {
            "image": image,
            "environment": "staging",
            "aws_region": AWS_CREDENTIALS["AWS_REGION"],
            "name_prefix": f"image-processor-{self.tag}",
            "log_group_prefix": f"/ecs/image-processor-{self.tag}",
            # One execution role and one task role per service, as terraform/iam.tf makes them.
            **{
                f"{service}_{role}_role_arn": f"arn:aws:iam::123456789012:role/{service}-{role}"
                for service in ("api", "worker", "beat", "flower")
                for role in ("execution", "task")
            },
            "image_processing_queue_name": self.queue_name,
            "images_bucket": self.bucket,
            "s3_images_prefix": "books/",
            **TIME_LIMITS,
            "model_chain": "u2netp,u2net",
            "cascade_max_doubt": "0.08",
            "cascade_max_shadow": "0.15",
            # terraform derives the API's pool from RDS's max_connections; one API task against
            # the local Postgres takes the settings' default.
            "database_pool_size": "20",
            **self.secret_arns,
        }

    def container_definition(self, service: str, image: str) -> dict[str, Any]:
        task_definition = render(load_template(service), self.values(image))
        (container,) = task_definition["containerDefinitions"]
        return container

    def environment(self, container: Mapping[str, Any]) -> dict[str, str]:
        """The container's environment as the ECS agent builds it: plain values, then each
        secret fetched from Secrets Manager; plus the emulator endpoint and keys, and TLS to
        the database as the local Postgres allows it."""
        env = {item["name"]: item["value"] for item in container.get("environment", [])}
        secrets = self.client("secretsmanager")
        for item in container.get("secrets", []):
            env[item["name"]] = secrets.get_secret_value(SecretId=item["valueFrom"])["SecretString"]
        return {
            **env,
            **AWS_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            **LOCAL_DATABASE_TLS,
        }


def run_task(
    account: LocalAccount,
    service: str,
    *,
    image: str,
    name: str,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    volumes: Sequence[str] = (),
) -> podman.Container:
    """Start `service`'s container as its task definition describes it."""
    container = account.container_definition(service, image)
    scratch_paths = [mount["containerPath"] for mount in container.get("mountPoints", [])]
    return podman.run(
        image,
        list(command or container.get("command", [])),
        name=name,
        env={**account.environment(container), **(env or {})},
        flags=podman.ecs_flags(
            user=container["user"],
            read_only=bool(container.get("readonlyRootFilesystem")),
            scratch_paths=scratch_paths,
            init=bool(container.get("linuxParameters", {}).get("initProcessEnabled")),
        ),
        volumes=volumes,
    )


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS_CREDENTIALS["AWS_REGION"],
    }
