"""Every argument and nested block of every resource and data source in terraform/, checked
against the pinned AWS provider's schema (@cdktf/provider-aws, generated from it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy import provider_schema
from tests.deploy.checks import TERRAFORM_DIR, load_terraform
from tests.deploy.conftest import replace_in


def schema_problems(
    schema: provider_schema.ProviderSchema, root: Path = TERRAFORM_DIR
) -> list[str]:
    model = load_terraform(root)
    problems = []
    for kind, entries in (("resource", model.resources), ("data", model.data)):
        for (type_name, name), (file_name, body) in sorted(entries.items()):
            block = schema.of(kind, type_name)
            if block is None:
                problems.append(
                    f"{file_name}: {kind} type {type_name!r} does not exist in the provider"
                )
                continue
            problems += [
                f"{file_name}: {problem}"
                for problem in provider_schema.unknown_names(body, block, f"{type_name}.{name}")
            ]
    return problems


def test_the_schema_was_read(aws_schema: provider_schema.ProviderSchema) -> None:
    # A parser that silently found nothing would pass every check below.
    assert len(aws_schema.resources) > 1000
    sqs = aws_schema.resources["aws_sqs_queue"]
    assert {"visibility_timeout_seconds", "redrive_policy"} <= sqs.attributes
    service = aws_schema.resources["aws_ecs_service"]
    assert "subnets" in service.blocks["network_configuration"].attributes


def test_provider_pin_matches_the_schema(aws_schema: provider_schema.ProviderSchema) -> None:
    settings = load_terraform().settings[0]
    aws = settings["required_providers"][0]["aws"]
    assert aws["version"] == aws_schema.provider_version, (
        "terraform/versions.tf pins a different AWS provider than .ci/aws-provider-schema's package"
    )


def test_every_argument_is_in_the_provider_schema(
    aws_schema: provider_schema.ProviderSchema,
) -> None:
    assert schema_problems(aws_schema) == []


PLANTS = [
    (
        "sqs.tf",
        "visibility_timeout_seconds",
        "visiblity_timeout_seconds",
        "unknown argument 'visiblity_timeout_seconds'",
    ),
    (
        "ecs.tf",
        "assign_public_ip = false",
        "assign_public_ips = false",
        "aws_ecs_service.worker.network_configuration: unknown argument 'assign_public_ips'",
    ),
    (
        "autoscaling.tf",
        'metric_name = "RunningTaskCount"',
        'metric = "RunningTaskCount"',
        "customized_metric_specification.metrics.metric_stat.metric: unknown argument 'metric'",
    ),
    (
        "ecr.tf",
        "image_scanning_configuration {",
        "image_scan_configuration {",
        "unknown block 'image_scan_configuration'",
    ),
    (
        "s3.tf",
        'resource "aws_s3_bucket_versioning"',
        'resource "aws_s3_bucket_versionning"',
        "resource type 'aws_s3_bucket_versionning' does not exist",
    ),
    (
        "iam.tf",
        '    condition {\n      test     = "StringEquals"\n      variable = "aws:SourceAccount"',
        '    conditions {\n      test     = "StringEquals"\n      variable = "aws:SourceAccount"',
        "aws_iam_policy_document.ecs_tasks_assume.statement: unknown block 'conditions'",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=[p[2] for p in PLANTS])
def test_planted_typo_fails_the_schema_check(
    aws_schema: provider_schema.ProviderSchema,
    planted,
    file: str,
    old: str,
    new: str,
    expected: str,
) -> None:
    root = planted("terraform")
    replace_in(root / "terraform" / file, old, new)
    found = schema_problems(aws_schema, root / "terraform")
    assert any(expected in problem for problem in found), found
