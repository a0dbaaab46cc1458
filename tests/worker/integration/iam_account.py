"""A moto_server account holding the stack's resources and one assumed task role per service,
whose IAM enforcement the least-privilege tests switch on (test_least_privilege.py)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3

from app.settings import Settings
from devtools.local_aws import create_local_infrastructure
from tests.deploy.iam_policies import Policy, for_moto, render_task_policy

SERVICES = ("api", "worker", "beat", "flower")
BUCKET = "image-processor-least-privilege"
QUEUE = "image-processing"


@dataclass
class EnforcedAccount:
    """A moto_server holding the stack's resources and one assumed role per service."""

    endpoint: str
    queue_url: str
    dlq_url: str
    secret_arn: str
    policies: dict[str, Policy] = field(default_factory=dict)
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    def enforce(self, on: bool) -> None:
        """moto's switch: checks every request from now on (0), or none (inf)."""
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if on else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback

    @contextmanager
    def unenforced(self) -> Iterator[None]:
        """Set-up and inspection by the test itself, as an administrator would."""
        self.enforce(False)
        try:
            yield
        finally:
            self.enforce(True)

    def client(self, service: str, name: str) -> Any:
        """A boto3 client signing as `service`'s task role."""
        keys = self.credentials[service]
        return boto3.client(
            name,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=keys["AWS_SESSION_TOKEN"],
        )


def admin_client(endpoint: str, name: str) -> Any:
    return boto3.client(name, endpoint_url=endpoint, region_name="us-east-1")


def _database_secret(postgres_url: str) -> str:
    url = urlsplit(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    return json.dumps(
        {
            "host": url.hostname,
            "port": url.port or 5432,
            "username": url.username or "postgres",
            "password": url.password or "trust-auth-ignores-it",
            "dbname": url.path.lstrip("/"),
        }
    )


def open_account(endpoint: str, postgres_url: str) -> EnforcedAccount:
    """The bucket, queue, DLQ and database secret, and each service's task role, rendered
    from terraform/iam.tf, created and assumed; enforcement is still off."""
    settings = Settings(
        aws_endpoint_url=endpoint, images_bucket=BUCKET, image_processing_queue_name=QUEUE
    )
    made = create_local_infrastructure(settings)
    secret_arn = admin_client(endpoint, "secretsmanager").create_secret(
        Name="image-processor/database", SecretString=_database_secret(postgres_url)
    )["ARN"]
    sqs = admin_client(endpoint, "sqs")
    arns = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for url in (made["queue_url"], made["dlq_url"])
    }
    refs = {
        "aws_sqs_queue.main.arn": arns[made["queue_url"]],
        "aws_sqs_queue.dead_letter.arn": arns[made["dlq_url"]],
        "aws_s3_bucket.images.arn": f"arn:aws:s3:::{BUCKET}",
        "var.s3_images_prefix": settings.s3_images_prefix,
        "data.aws_secretsmanager_secret.database.arn": secret_arn,
    }
    found = EnforcedAccount(endpoint, made["queue_url"], made["dlq_url"], secret_arn)
    iam, sts = admin_client(endpoint, "iam"), admin_client(endpoint, "sts")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    for service in SERVICES:
        found.policies[service] = policy = render_task_policy(service, refs)
        role = iam.create_role(
            RoleName=f"{service}-task", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]
        iam.put_role_policy(
            RoleName=f"{service}-task",
            PolicyName=f"{service}-calls",
            PolicyDocument=json.dumps(for_moto(policy)),
        )
        keys = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=f"ecs-{service}")
        found.credentials[service] = {
            "AWS_ACCESS_KEY_ID": keys["Credentials"]["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": keys["Credentials"]["SecretAccessKey"],
            "AWS_SESSION_TOKEN": keys["Credentials"]["SessionToken"],
        }
    return found
