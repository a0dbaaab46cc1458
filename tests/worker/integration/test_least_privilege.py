"""Each service's real calls under its own task role, on moto_server with IAM enforcement on.

The task roles' policies are rendered from terraform/iam.tf (tests/deploy/iam_policies.py),
created as roles in moto and assumed, as ECS does for a task; then moto checks every request
against the caller's role. Every call a service's code makes must be allowed, and a call outside
its job must be denied. Where moto authorises a request differently from AWS (HeadBucket's
action name, the resource it checks GetQueueUrl and GetSecretValue against, the 403-or-404 rule
of GetObject, CopyObject's source), `for_moto` says how the policy is adapted, and
tests/deploy/test_iam_rules.py checks the rendered policies against AWS's own rules.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

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
from tests.app_stack import API_KEY, Infrastructure
from tests.conftest import AWS_TEST_ENV
from tests.corpus import book_photo
from tests.deploy.iam_policies import for_moto, render_policy
from tests.worker.integration import records
from tests.worker.integration.iam_account import (
    BUCKET,
    QUEUE,
    EnforcedAccount,
    admin_client,
    open_account,
)
from tests.worker.integration.workers import RunningWorker

DENIED = {"AccessDenied", "AccessDeniedException", "403"}


@pytest.fixture(scope="module")
def account(
    tmp_path_factory: pytest.TempPathFactory, migrated_postgres_url: str
) -> Iterator[EnforcedAccount]:
    log = tmp_path_factory.mktemp("moto-iam") / "moto.log"
    with servers.moto_server(log) as endpoint:
        found = open_account(endpoint, migrated_postgres_url)
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
) -> Callable[..., Settings]:
    """This process's AWS calls sign as `service`'s task role; the database comes from the
    secret (DATABASE_SECRET_ARN), as in ECS."""

    def _become(service: str, **overrides: object) -> Settings:
        for name, value in account.credentials[service].items():
            monkeypatch.setenv(name, value)
        settings = app_settings(database_secret_arn=account.secret_arn, **overrides)
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
        admin_client(account.endpoint, "s3").put_object(Bucket=BUCKET, Key=key, Body=data)


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
    account: EnforcedAccount, as_service: Callable[..., Settings]
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
    _denied(lambda: s3.get_object(Bucket=BUCKET, Key="private/a.jpg"))


def test_the_apis_review_links_open_images_and_nothing_else_under_its_role(
    account: EnforcedAccount, as_service: Callable[..., Settings]
) -> None:
    """/review's links are presigned with the API's role, and S3 serves a presigned GET as its
    signer's s3:GetObject. moto_server cannot authorise a presigned request (it looks for an
    Authorization header and answers 500), so the same GetObject is made signed in the header:
    an original and a result under books/ open, a key outside the prefix does not."""
    as_service("api")
    _put(account, "books/7/original.jpg", b"original")
    _put(account, "books/7_processed_job.png", b"result")
    _put(account, "private/secret.jpg", b"not the API's")
    s3 = account.client("api", "s3")
    for key, body in (
        ("books/7/original.jpg", b"original"),
        ("books/7_processed_job.png", b"result"),
    ):
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    _denied(lambda: s3.get_object(Bucket=BUCKET, Key="private/secret.jpg"))
    from app.storage import get_storage

    link = get_storage().link("7/original.jpg", expires_in=60)
    assert link is not None
    assert f"/{BUCKET}/books/7/original.jpg?" in link


@pytest.mark.model
def test_the_worker_reads_originals_writes_results_and_consumes_under_its_role(
    account: EnforcedAccount,
    as_service: Callable[..., Settings],
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
    # The failed job's result key was deleted (there was none to find): allowed, not refused.
    discarded = [r["message"] for r in records.job_log_records(worker, missing)]
    assert any("discarded the failed job's result" in message for message in discarded)
    assert not any("could not discard" in message for message in discarded), discarded

    sqs, s3 = account.client("worker", "sqs"), account.client("worker", "s3")
    _denied(lambda: s3.delete_object(Bucket=BUCKET, Key=keys[0]))
    _denied(lambda: s3.get_object(Bucket=BUCKET, Key="listings/L-1/a.jpg"))
    _denied(lambda: sqs.get_queue_attributes(QueueUrl=account.dlq_url, AttributeNames=["All"]))


def test_beat_sweeps_under_its_role(
    account: EnforcedAccount,
    as_service: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = as_service("beat", orphan_object_min_age_seconds=0)
    job_id = records.add_job(status=JobStatus.queue_failed, enqueue_attempts=1)
    from worker import tasks
    from worker.orphans import OrphanCursor

    result = tasks.sweep_jobs.apply()
    assert result.successful(), result.traceback
    assert result.result["republished"] == 1, result.result
    assert result.result["publish_errors"] == 0
    assert records.job(job_id).status is JobStatus.pending
    assert settings.database_secret_arn == account.secret_arn

    # The orphan sweep: it lists books/ and deletes, in one DeleteObjects, what no row names.
    with account.unenforced():  # what earlier tests of the module left there
        admin = admin_client(account.endpoint, "s3")
        for item in admin.list_objects_v2(Bucket=BUCKET, Prefix="books/").get("Contents", []):
            admin.delete_object(Bucket=BUCKET, Key=item["Key"])
    named = records.job(job_id)
    _put(account, f"books/{named.book_id}/photo.jpg", b"named")
    _put(account, "books/999/stray.jpg", b"orphan")
    _put(account, "listings/L-9/a.jpg", b"not beat's")
    monkeypatch.setattr(tasks, "_orphan_cursor", OrphanCursor())
    swept = tasks.sweep_orphans.apply()
    assert swept.successful(), swept.traceback
    assert swept.result == {"examined": 2, "deleted": 1, "kept": 1, "failed": 0}
    with account.unenforced():
        remaining = {item["Key"] for item in admin.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert f"books/{named.book_id}/photo.jpg" in remaining
    assert "listings/L-9/a.jpg" in remaining
    assert "books/999/stray.jpg" not in remaining

    sqs, s3 = account.client("beat", "sqs"), account.client("beat", "s3")
    _denied(lambda: sqs.receive_message(QueueUrl=account.queue_url))
    _denied(lambda: s3.put_object(Bucket=BUCKET, Key="books/x.png", Body=b"x"))
    _denied(lambda: s3.get_object(Bucket=BUCKET, Key=f"books/{named.book_id}/photo.jpg"))
    _denied(lambda: s3.delete_object(Bucket=BUCKET, Key="listings/L-9/a.jpg"))


def test_flower_reads_the_queue_depths_under_its_role(
    account: EnforcedAccount, as_service: Callable[..., Settings]
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


# --- the operator's one-off tasks --------------------------------------------------------------


@pytest.fixture(scope="module")
def operator_role(account: EnforcedAccount) -> str:
    """The operator's task role (terraform/iam.tf, operator_task), created and assumed as ECS
    does for a one-off worker task whose overrides name it as taskRoleArn."""
    with account.unenforced():
        sqs, iam = admin_client(account.endpoint, "sqs"), admin_client(account.endpoint, "iam")
        arns = [
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            for url in (account.queue_url, account.dlq_url)
        ]
        refs = {"aws_sqs_queue.main.arn": arns[0], "aws_sqs_queue.dead_letter.arn": arns[1]}
        trust = iam.get_role(RoleName="worker-task")["Role"]["AssumeRolePolicyDocument"]
        role = iam.create_role(RoleName="operator-task", AssumeRolePolicyDocument=json.dumps(trust))
        policy = for_moto(render_policy("operator_task", refs))
        iam.put_role_policy(
            RoleName="operator-task",
            PolicyName="dead-letter-queue",
            PolicyDocument=json.dumps(policy),
        )
        keys = admin_client(account.endpoint, "sts").assume_role(
            RoleArn=role["Role"]["Arn"], RoleSessionName="ecs-operator"
        )["Credentials"]
    account.credentials["operator"] = {
        "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
        "AWS_SESSION_TOKEN": keys["SessionToken"],
    }
    return "operator"


def test_the_operator_shows_and_redrives_the_dead_letter_queue_under_its_role(
    account: EnforcedAccount,
    as_service: Callable[..., Settings],
    infrastructure: Infrastructure,
    operator_role: str,
) -> None:
    """`dlq show` and `dlq redrive` (worker/operator_dlq.py) under the operator role; the worker's
    role, which the same task definition carries by default, cannot drain the queue."""
    with account.unenforced():
        admin_client(account.endpoint, "sqs").send_message(
            QueueUrl=account.dlq_url, MessageBody="poison"
        )
    settings = as_service(operator_role)
    from worker.operator_dlq import queue_depth, redrive_dead_letters, show_dead_letters

    assert queue_depth(account.dlq_url) == 1
    (letter,) = show_dead_letters(settings=settings, limit=10)
    assert letter.problem == "not a Celery message"
    report = redrive_dead_letters(settings=settings, limit=10)
    assert (len(report.moved), report.failed, report.error) == (1, [], None)
    with account.unenforced():
        assert [m["Body"] for m in infrastructure.receive_all(queue_url=account.queue_url)] == [
            "poison"
        ]
        assert infrastructure.receive_all(queue_url=account.dlq_url) == []

    sqs, s3 = account.client(operator_role, "sqs"), account.client(operator_role, "s3")
    secrets = account.client(operator_role, "secretsmanager")
    _denied(lambda: sqs.receive_message(QueueUrl=account.queue_url))
    _denied(lambda: sqs.send_message(QueueUrl=account.dlq_url, MessageBody="x"))
    _denied(lambda: s3.get_object(Bucket=BUCKET, Key="books/7/original.jpg"))
    _denied(lambda: secrets.get_secret_value(SecretId=account.secret_arn))
    worker = account.client("worker", "sqs")
    _denied(lambda: worker.receive_message(QueueUrl=account.dlq_url))
    _denied(lambda: worker.delete_message(QueueUrl=account.dlq_url, ReceiptHandle="x"))
