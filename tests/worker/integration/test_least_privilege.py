"""Each service's real calls under its own task role, on moto_server with IAM enforcement on.

The task roles' policies are rendered from terraform/iam.tf (tests/deploy/iam_policies.py),
created as roles in moto and assumed, as ECS does for a task; then moto checks every request
against the caller's role. Every call a service's code makes must be allowed, and a call outside
its job must be denied. Where moto authorises a request differently from AWS (HeadBucket's
action name, the resource it checks GetQueueUrl and GetSecretValue against, the 403-or-404 rule
of GetObject, CopyObject's source), `for_moto` says how the policy is adapted, and the last
tests check the rendered policy against AWS's own rule, from the Service Authorization
Reference and the S3 user guide.
"""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from app import aws
from app.celery_client import reset_celery_client
from app.credentials import secret_credentials
from app.db import session_scope
from app.enqueue import queue_image_processing
from app.models import JobStatus
from app.settings import Settings
from tests import servers
from tests.app.conftest import API_KEY, Infrastructure
from tests.conftest import AWS_TEST_ENV
from tests.corpus import book_photo
from tests.deploy.iam_policies import Policy, allows, for_moto, render_task_policy
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker
from worker.embedded.infra import create_local_infrastructure

SERVICES = ("api", "worker", "beat", "flower")
BUCKET = "image-processor-least-privilege"
QUEUE = "image-processing"
DENIED = {"AccessDenied", "AccessDeniedException", "403"}


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


def _admin(endpoint: str, name: str) -> Any:
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


@pytest.fixture(scope="module")
def account(
    tmp_path_factory: pytest.TempPathFactory, migrated_postgres_url: str
) -> Iterator[EnforcedAccount]:
    log = tmp_path_factory.mktemp("moto-iam") / "moto.log"
    with servers.moto_server(log) as endpoint:
        settings = Settings(
            aws_endpoint_url=endpoint, images_bucket=BUCKET, image_processing_queue_name=QUEUE
        )
        made = create_local_infrastructure(settings)
        secret_arn = _admin(endpoint, "secretsmanager").create_secret(
            Name="image-processor/database", SecretString=_database_secret(migrated_postgres_url)
        )["ARN"]
        sqs = _admin(endpoint, "sqs")
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
        iam, sts = _admin(endpoint, "iam"), _admin(endpoint, "sts")
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
        found.enforce(True)
        yield found


@pytest.fixture
def infrastructure(account: EnforcedAccount) -> Infrastructure:
    """The enforced account's resources, for the app fixtures (emptied between tests)."""
    found = Infrastructure(account.endpoint, BUCKET, QUEUE, account.queue_url, account.dlq_url)
    with account.unenforced():
        for url in (account.queue_url, account.dlq_url):
            found.receive_all(queue_url=url)
    return found


@pytest.fixture
def as_service(
    account: EnforcedAccount,
    app_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[str], Settings]:
    """This process's AWS calls sign as `service`'s task role; the database comes from the
    secret (DATABASE_SECRET_ARN), as in ECS."""

    def _become(service: str) -> Settings:
        for name, value in account.credentials[service].items():
            monkeypatch.setenv(name, value)
        settings = app_settings(database_secret_arn=account.secret_arn)
        secret_credentials.cache_clear()
        aws.reset_clients()
        reset_celery_client()
        return settings

    yield _become
    secret_credentials.cache_clear()
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)


def _denied(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    code = str(raised.value.response["Error"]["Code"])
    assert code in DENIED, raised.value
    return code


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    book_photo().save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _put(account: EnforcedAccount, key: str, data: bytes) -> None:
    with account.unenforced():
        _admin(account.endpoint, "s3").put_object(Bucket=BUCKET, Key=key, Body=data)


def _enqueue(account: EnforcedAccount, name: str, data: bytes | None) -> str:
    """A book, its primary image (uploaded unless `data` is None) and a published job."""
    book_id, image_id = records.add_book_with_image(s3_key_name=name)
    if data is not None:
        _put(account, f"books/{book_id}/{name}", data)
    with session_scope() as session:
        job = queue_image_processing(session=session, book_id=book_id, image_id=image_id)
        return str(job.id)


# --- every service's calls, allowed; calls outside its job, denied ---------------------------


def test_the_api_uploads_imports_enqueues_and_checks_deep_health_under_its_role(
    account: EnforcedAccount, as_service: Callable[[str], Settings]
) -> None:
    as_service("api")
    _put(account, "listings/L-1/a.jpg", _jpeg())
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        book_id = records.create_book(client)  # the database, through the secret
        upload = records.upload(client, book_id, _jpeg(), name="a.jpg", primary=True)
        assert upload.status_code == 201, upload.text
        assert upload.json()["job"]["status"] == "pending"  # published, not queue_failed
        imported = client.post(f"/books/{book_id}/imports", json={"listing_id": "L-1"})
        assert imported.status_code == 200, imported.text
        assert imported.json()["failures"] == []
        deep = client.get("/health/deep")
        assert deep.status_code == 200, deep.text
    from app.storage import get_storage

    get_storage().delete(f"{book_id}/a.jpg")  # an upload whose row was never written

    sqs, s3 = account.client("api", "sqs"), account.client("api", "s3")
    _denied(lambda: sqs.receive_message(QueueUrl=account.queue_url))
    _denied(lambda: sqs.delete_message(QueueUrl=account.queue_url, ReceiptHandle="x"))
    _denied(lambda: s3.get_object(Bucket=BUCKET, Key=f"books/{book_id}/a.jpg"))


@pytest.mark.model
def test_the_worker_reads_originals_writes_results_and_consumes_under_its_role(
    account: EnforcedAccount,
    as_service: Callable[[str], Settings],
    worker_settings: Settings,
    start_workers: Callable[..., RunningWorker],
    infrastructure: Infrastructure,
) -> None:
    as_service("api")  # the API enqueues; the worker then runs under its own role
    done = _enqueue(account, "photo.jpg", _jpeg())
    missing = _enqueue(account, "gone.jpg", None)
    worker = start_workers(
        worker_settings, DATABASE_SECRET_ARN=account.secret_arn, **account.credentials["worker"]
    )
    rows = records.wait_for_jobs([done, missing], worker=worker)
    assert rows[done].status is JobStatus.completed, worker.output()[-3000:]
    assert (rows[missing].status, rows[missing].failure_reason) == (
        JobStatus.failed,
        "source_object_missing",
    )
    with account.unenforced():
        keys = records.object_keys(infrastructure, "books/")
    assert f"books/{rows[done].book_id}_processed_{done}.png" in keys

    sqs, s3 = account.client("worker", "sqs"), account.client("worker", "s3")
    _denied(lambda: s3.delete_object(Bucket=BUCKET, Key=keys[0]))
    _denied(lambda: s3.get_object(Bucket=BUCKET, Key="listings/L-1/a.jpg"))
    _denied(lambda: sqs.get_queue_attributes(QueueUrl=account.dlq_url, AttributeNames=["All"]))


def test_beat_sweeps_under_its_role(
    account: EnforcedAccount, as_service: Callable[[str], Settings]
) -> None:
    settings = as_service("beat")
    job_id = records.add_job(status=JobStatus.queue_failed, enqueue_attempts=1)
    from worker.tasks import sweep_jobs

    result = sweep_jobs.apply()
    assert result.successful(), result.traceback
    assert result.result["republished"] == 1, result.result
    assert result.result["publish_errors"] == 0
    assert records.job(job_id).status is JobStatus.pending
    assert settings.database_secret_arn == account.secret_arn

    sqs, s3 = account.client("beat", "sqs"), account.client("beat", "s3")
    _denied(lambda: sqs.receive_message(QueueUrl=account.queue_url))
    _denied(lambda: s3.put_object(Bucket=BUCKET, Key="books/x.png", Body=b"x"))


def test_flower_reads_the_queue_depths_under_its_role(
    account: EnforcedAccount, as_service: Callable[[str], Settings]
) -> None:
    settings = as_service("flower")
    from worker.monitoring.queue_depths import QueueDepthMonitor

    monitor = QueueDepthMonitor(settings)
    monitor.refresh()
    assert not monitor.failing
    assert monitor.depths["queue"]["name"] == QUEUE
    assert set(monitor.depths) == {"queue", "dead_letter_queue"}

    sqs, s3 = account.client("flower", "sqs"), account.client("flower", "s3")
    secrets = account.client("flower", "secretsmanager")
    _denied(lambda: s3.put_object(Bucket=BUCKET, Key="books/x.png", Body=b"x"))
    _denied(lambda: sqs.send_message(QueueUrl=account.queue_url, MessageBody="x"))
    _denied(lambda: secrets.get_secret_value(SecretId=account.secret_arn))


# --- AWS's rules where moto's differ ---------------------------------------------------------


def test_head_bucket_is_allowed_as_aws_authorises_it(account: EnforcedAccount) -> None:
    """HeadBucket (the API's /health/deep) needs s3:ListBucket on the bucket, and the request
    carries no s3:prefix: a prefix-conditioned grant does not allow it. moto checks a
    differently named action, so the rule is checked here."""
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert allows(account.policies["api"], "s3:ListBucket", bucket, context={})


def test_a_missing_original_is_a_404_for_the_worker(account: EnforcedAccount) -> None:
    """S3 answers GetObject of a missing key with 404 only if the caller has s3:ListBucket on
    the bucket, else 403, which would turn `source_object_missing` into retried access errors.
    moto always answers 404, so the rule is checked here."""
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert allows(account.policies["worker"], "s3:ListBucket", bucket, context={})


@pytest.mark.parametrize("service", SERVICES)
def test_queue_lookups_and_the_secret_are_scoped_to_their_resources(
    account: EnforcedAccount, service: str
) -> None:
    """AWS authorises GetQueueUrl against the queue's ARN and GetSecretValue against the
    secret's; moto checks both against "*", so the scoping is checked here."""
    policy = account.policies[service]
    main, other = f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}", "arn:aws:sqs:*:*:another"
    assert allows(policy, "sqs:GetQueueUrl", main, context={})
    assert not allows(policy, "sqs:GetQueueUrl", other, context={})
    reads_database = service != "flower"
    assert allows(policy, "secretsmanager:GetSecretValue", account.secret_arn, {}) is (
        reads_database
    )
    other_secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf"
    assert not allows(policy, "secretsmanager:GetSecretValue", other_secret, context={})


def test_a_listing_import_copies_with_read_on_the_source(account: EnforcedAccount) -> None:
    """CopyObject needs s3:GetObject on the source and s3:PutObject on the destination; moto
    checks only the destination."""
    policy, bucket = account.policies["api"], f"arn:aws:s3:::{BUCKET}"
    assert allows(policy, "s3:GetObject", f"{bucket}/listings/L-1/a.jpg", context={})
    assert allows(policy, "s3:PutObject", f"{bucket}/books/7/a.jpg", context={})
    assert not allows(policy, "s3:GetObject", f"{bucket}/books/7/a.jpg", context={})


def test_every_task_role_is_its_own(account: EnforcedAccount) -> None:
    policies = {service: json.dumps(account.policies[service]) for service in SERVICES}
    assert len(set(policies.values())) == len(SERVICES)
