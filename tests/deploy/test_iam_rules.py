"""AWS's own rules, checked against the task roles' policies rendered from terraform/iam.tf.

tests/worker/integration/test_least_privilege.py runs every service's calls under its role on
moto with IAM enforcement on. Where moto authorises a request differently from AWS, the rule is
checked here instead, from the Service Authorization Reference and the S3 user guide.
"""

from __future__ import annotations

import json

import pytest

from tests.deploy.checks import load_terraform
from tests.deploy.iam_policies import allows, render_policy, render_task_policy

SERVICES = ("api", "worker", "beat", "flower")
ACCOUNT, BUCKET, QUEUE = "123456789012", "image-processor-images", "image-processing"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:image-processor/database-AbCdEf"
REFS = {
    "aws_sqs_queue.main.arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{QUEUE}",
    "aws_sqs_queue.dead_letter.arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{QUEUE}-dlq",
    "aws_s3_bucket.images.arn": f"arn:aws:s3:::{BUCKET}",
    "var.s3_images_prefix": "books/",
    "data.aws_secretsmanager_secret.database.arn": SECRET,
}
POLICIES = {service: render_task_policy(service, REFS) for service in SERVICES}


def test_head_bucket_is_allowed_as_aws_authorises_it() -> None:
    """HeadBucket (the API's /health/deep) needs s3:ListBucket on the bucket, and the request
    carries no s3:prefix: a prefix-conditioned grant does not allow it. moto checks a
    differently named action, so the rule is checked here."""
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert allows(POLICIES["api"], "s3:ListBucket", bucket, context={})


def test_a_missing_original_is_a_404_for_the_worker() -> None:
    """S3 answers GetObject of a missing key with 404 only if the caller has s3:ListBucket on
    the bucket, else 403, which would turn `source_object_missing` into retried access errors.
    moto always answers 404, so the rule is checked here."""
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert allows(POLICIES["worker"], "s3:ListBucket", bucket, context={})


def test_beat_lists_and_deletes_under_the_images_prefix_only() -> None:
    """The orphan sweep lists `books/` and deletes what no row names, with DeleteObjects,
    which AWS authorises per key as s3:DeleteObject (moto checks it once, on the bucket) and
    whose listing carries the request's prefix as s3:prefix (a condition moto ignores)."""
    policy, bucket = POLICIES["beat"], f"arn:aws:s3:::{BUCKET}"
    assert allows(policy, "s3:ListBucket", bucket, context={"s3:prefix": "books/"})
    assert not allows(policy, "s3:ListBucket", bucket, context={"s3:prefix": "listings/"})
    assert not allows(policy, "s3:ListBucket", bucket, context={})  # the whole bucket
    assert allows(policy, "s3:DeleteObject", f"{bucket}/books/7/a.jpg", context={})
    assert not allows(policy, "s3:DeleteObject", f"{bucket}/listings/L-1/a.jpg", context={})
    assert not allows(policy, "s3:GetObject", f"{bucket}/books/7/a.jpg", context={})


def test_the_worker_deletes_results_and_never_an_original() -> None:
    """A job that fails for good deletes its result PNG; an upload's key never matches."""
    policy, bucket = POLICIES["worker"], f"arn:aws:s3:::{BUCKET}"
    result = f"{bucket}/books/7_processed_0b6f3c1e-9a0e-4f51-8d57-3f4f0d6e2a11.png"
    assert allows(policy, "s3:DeleteObject", result, context={})
    assert not allows(policy, "s3:DeleteObject", f"{bucket}/books/7/4f0c9e.jpg", context={})
    assert not allows(policy, "s3:DeleteObject", f"{bucket}/books/7/4f0c9e.png", context={})
    assert not allows(policy, "s3:DeleteObject", f"{bucket}/listings/L-1/a.png", context={})


@pytest.mark.parametrize("service", SERVICES)
def test_queue_lookups_and_the_secret_are_scoped_to_their_resources(service: str) -> None:
    """AWS authorises GetQueueUrl against the queue's ARN and GetSecretValue against the
    secret's; moto checks both against "*", so the scoping is checked here."""
    policy = POLICIES[service]
    main, other = f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}", "arn:aws:sqs:*:*:another"
    assert allows(policy, "sqs:GetQueueUrl", main, context={})
    assert not allows(policy, "sqs:GetQueueUrl", other, context={})
    reads_database = service != "flower"
    assert allows(policy, "secretsmanager:GetSecretValue", SECRET, {}) is (reads_database)
    other_secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf"
    assert not allows(policy, "secretsmanager:GetSecretValue", other_secret, context={})


def test_a_listing_import_copies_with_read_on_the_source() -> None:
    """CopyObject needs s3:GetObject on the source and s3:PutObject on the destination; moto
    checks only the destination."""
    policy, bucket = POLICIES["api"], f"arn:aws:s3:::{BUCKET}"
    assert allows(policy, "s3:GetObject", f"{bucket}/listings/L-1/a.jpg", context={})
    assert allows(policy, "s3:PutObject", f"{bucket}/books/7/a.jpg", context={})


def test_the_api_reads_the_images_prefix_for_review_links_and_nothing_wider() -> None:
    """/review's presigned links are authorised as the API's own s3:GetObject: originals and
    results under books/, listings/ for imports as before, and no other key, no other bucket;
    S3 grants beyond that stay as they were (ListBucket on the bucket, writes and deletes
    under books/ only)."""
    policy, bucket = POLICIES["api"], f"arn:aws:s3:::{BUCKET}"
    assert allows(policy, "s3:GetObject", f"{bucket}/books/7/4f0c9e.jpg", context={})
    result = f"{bucket}/books/7_processed_0b6f3c1e-9a0e-4f51-8d57-3f4f0d6e2a11.png"
    assert allows(policy, "s3:GetObject", result, context={})
    for other in ("private/x.jpg", "x.jpg", "bookshelf/7.jpg"):
        assert not allows(policy, "s3:GetObject", f"{bucket}/{other}", context={}), other
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::another/books/7/a.jpg", context={})
    assert not allows(policy, "s3:DeleteObject", f"{bucket}/listings/L-1/a.jpg", context={})
    assert not allows(policy, "s3:PutObject", f"{bucket}/listings/L-1/a.jpg", context={})
    grants = {
        (action, resource)
        for statement in policy["Statement"]
        for action in statement["Action"]
        if action.startswith("s3:")
        for resource in statement["Resource"]
    }
    assert grants == {
        ("s3:GetObject", f"{bucket}/books/*"),
        ("s3:GetObject", f"{bucket}/listings/*"),
        ("s3:PutObject", f"{bucket}/books/*"),
        ("s3:DeleteObject", f"{bucket}/books/*"),
        ("s3:ListBucket", bucket),
    }


def test_every_task_role_is_its_own() -> None:
    policies = {service: json.dumps(POLICIES[service]) for service in SERVICES}
    assert len(set(policies.values())) == len(SERVICES)


# --- the operator's dead-letter queue commands -----------------------------------------------

CLUSTER = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/image-processor-production"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/image-processor-production"
OPERATOR_REFS = {
    **REFS,
    "local.name_prefix": "image-processor-production",
    "local.account_id": ACCOUNT,
    "var.aws_region": "us-east-1",
    "aws_ecs_cluster.this.arn": CLUSTER,
    "aws_ecs_cluster.this.name": "image-processor-production",
    "aws_ecs_service.worker.id": f"{CLUSTER.replace(':cluster/', ':service/')}/worker",
    "aws_ssm_parameter.deploy_values.arn": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/dv",
    'aws_cloudwatch_log_group.service["worker"].arn': f"arn:aws:logs:us-east-1:{ACCOUNT}:lg",
    'aws_iam_role.execution["worker"].arn': f"{ROLE}-worker-exec",
    'aws_iam_role.task["worker"].arn': f"{ROLE}-worker-task",
    "aws_iam_role.operator.arn": f"{ROLE}-operator-task",
}
MAIN, DLQ = REFS["aws_sqs_queue.main.arn"], REFS["aws_sqs_queue.dead_letter.arn"]
DLQ_CALLS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)


def test_the_operator_role_reads_and_drains_the_dlq_and_sends_to_the_work_queue_only() -> None:
    """worker/operator_dlq.py's calls, and nothing else: no S3, no secret, no receive from the
    work queue, no send to the dead-letter queue."""
    policy = render_policy("operator_task", OPERATOR_REFS)
    grants = {
        (action, resource)
        for statement in policy["Statement"]
        for action in statement["Action"]
        for resource in statement["Resource"]
    }
    assert grants == {(call, DLQ) for call in DLQ_CALLS} | {
        ("sqs:GetQueueUrl", MAIN),
        ("sqs:SendMessage", MAIN),
    }
    assert not any("Condition" in statement for statement in policy["Statement"])


@pytest.mark.parametrize(
    "call", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"]
)
def test_the_worker_cannot_drain_the_dead_letter_queue(call: str) -> None:
    assert not allows(POLICIES["worker"], call, DLQ, context={})
    assert allows(POLICIES["worker"], call, MAIN, context={})


def test_the_operator_runs_worker_tasks_passing_the_workers_or_the_operators_role_only() -> None:
    """The on-call operator's policy (aws_iam_policy.operator_run_task): RunTask of the
    worker's task definition in this cluster, passing the worker's execution role and its or
    the operator's task role to ECS; no other service's role, no other task definition."""
    policy = render_policy("operator_run_task", OPERATOR_REFS)
    to_ecs = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    for role in ("worker-exec", "worker-task", "operator-task"):
        assert allows(policy, "iam:PassRole", f"{ROLE}-{role}", context=to_ecs), role
        assert not allows(policy, "iam:PassRole", f"{ROLE}-{role}", context={}), role
    for role in ("api-task", "beat-task", "flower-task", "api-exec", "deploy"):
        assert not allows(policy, "iam:PassRole", f"{ROLE}-{role}", context=to_ecs), role
    worker = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/image-processor-production-worker:42"
    in_cluster = {"ecs:cluster": CLUSTER}
    assert allows(policy, "ecs:RunTask", worker, context=in_cluster)
    assert not allows(policy, "ecs:RunTask", worker.replace("-worker:", "-api:"), in_cluster)
    assert not allows(policy, "ecs:RunTask", worker, {"ecs:cluster": f"{CLUSTER}-other"})
    assert not allows(policy, "ecs:UpdateService", OPERATOR_REFS["aws_ecs_service.worker.id"], {})


def test_the_deploy_role_cannot_pass_the_operator_role() -> None:
    """The deploy runs the migration and the smoke test; the dead-letter queue is a person's."""
    deploy = load_terraform().data[("aws_iam_policy_document", "deploy")][1]
    (passing,) = [s for s in deploy["statement"] if "iam:PassRole" in s["actions"]]
    assert "aws_iam_role.operator" not in str(passing["resources"])
