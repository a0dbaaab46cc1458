"""The images bucket's policy and lifecycle (s3.tf): plain HTTP refused for every action, and
the retention docs/deployment.md states: originals and results tiered after 30 days, never
expired while current; old versions and their delete markers cleaned up."""

from __future__ import annotations

from typing import Any

from tests.deploy.checks import Terraform, block

BUCKET_ARNS = ["${aws_s3_bucket.images.arn}", "${aws_s3_bucket.images.arn}/*"]


def bucket_problems(tf: Terraform) -> list[str]:
    return tls_only_problems(tf) + lifecycle_problems(tf)


def tls_only_problems(tf: Terraform) -> list[str]:
    document = tf.data.get(("aws_iam_policy_document", "images_bucket"), ("", {}))[1]
    denies = [
        statement
        for statement in document.get("statement", [])
        if statement.get("effect") == "Deny"
        and any(
            c.get("variable") == "aws:SecureTransport" and c.get("values") == ["false"]
            for c in statement.get("condition", [])
        )
    ]
    if not any(
        d.get("actions") == ["s3:*"] and sorted(d.get("resources", [])) == sorted(BUCKET_ARNS)
        for d in denies
    ):
        return ["s3: the bucket policy must deny s3:* without TLS, on the bucket and its objects"]
    return []


def _rules(tf: Terraform) -> list[dict[str, Any]]:
    lifecycle = tf.of_type("aws_s3_bucket_lifecycle_configuration").get("images", {})
    return [rule for rule in lifecycle.get("rule", []) if rule.get("status") == "Enabled"]


def lifecycle_problems(tf: Terraform) -> list[str]:
    problems = []
    rules = _rules(tf)
    if not any(block(r, "expiration").get("expired_object_delete_marker") is True for r in rules):
        problems.append("s3: lifecycle must remove expired objects' delete markers")
    if not any(block(r, "noncurrent_version_expiration").get("noncurrent_days") for r in rules):
        problems.append("s3: lifecycle must expire noncurrent versions")
    tiering = [
        r
        for r in rules
        if block(r, "filter").get("prefix") == "${var.s3_images_prefix}"
        and block(r, "transition").get("storage_class") == "INTELLIGENT_TIERING"
        and block(r, "transition").get("days") == 30
    ]
    if not tiering:
        problems.append(
            "s3: originals and results (the images prefix) move to INTELLIGENT_TIERING after "
            "30 days, the retention docs/deployment.md states"
        )
    for rule in rules:
        if block(rule, "expiration").get("days") or block(rule, "expiration").get("date"):
            problems.append(
                f"s3: lifecycle rule {rule.get('id')} expires current objects; a book's photos "
                "live as long as the book"
            )
    return problems
