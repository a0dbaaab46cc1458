"""The images bucket refuses plain HTTP for every action, and keeps what docs/deployment.md
says it keeps (issue 19, item 14): the invariants on the real stack and on planted mistakes."""

from __future__ import annotations

import pytest

from tests.deploy.checks import load_terraform
from tests.deploy.terraform_checks_bucket import bucket_problems
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "s3.tf",
        'actions = ["s3:*"]',
        'actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]',
        "s3: the bucket policy must deny s3:* without TLS",
    ),
    (
        "s3.tf",
        "expired_object_delete_marker = true",
        "expired_object_delete_marker = false",
        "s3: lifecycle must remove expired objects' delete markers",
    ),
    (
        "s3.tf",
        'storage_class = "INTELLIGENT_TIERING"',
        'storage_class = "GLACIER"',
        "s3: originals and results (the images prefix) move to INTELLIGENT_TIERING",
    ),
    (
        "s3.tf",
        "    transition {\n      days          = 30",
        "    expiration {\n      days = 365\n    }\n\n    transition {\n      days          = 30",
        "expires current objects",
    ),
]


def test_the_bucket_is_tls_only_and_keeps_what_the_docs_say() -> None:
    assert bucket_problems(load_terraform()) == []


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found
