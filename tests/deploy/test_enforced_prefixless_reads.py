"""The two S3 requests AWS authorises as s3:ListBucket with no s3:prefix in the request, run on
moto_server with IAM enforcement on, under the task roles rendered from terraform/iam.tf.

- HeadBucket: the API's /health/deep (`S3Storage.check`). An s3:prefix condition on the API's
  ListBucket would deny it in AWS; `for_moto` then grants moto's s3:HeadBucket from no
  statement, and moto denies it here.
- GetObject of a missing key: S3 answers 404 only to a caller with s3:ListBucket (no prefix),
  else 403, and the worker would retry `source_object_missing` as an access error. moto always
  answers 404, so `MissingKeyAsAws` asks moto the ListBucket question AWS asks, through
  HeadBucket (the request moto authorises as exactly that grant), and answers 403 where AWS
  would.

moto evaluates no condition on an S3 request (only StringEquals, and only on sts:ExternalId),
so an s3:prefix condition is never evaluated by moto itself: `for_moto` translates it, and
test_iam_rules.py checks the same rules with the evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app.storage.base import ObjectNotFoundError, StorageError
from app.storage.s3 import S3Storage
from tests import servers
from tests.deploy import iam_policies
from tests.deploy.checks import TERRAFORM_DIR, load_terraform
from tests.deploy.conftest import replace_in
from tests.worker.integration.iam_account import (
    BUCKET,
    EnforcedAccount,
    admin_client,
    open_account,
)

# open_account stores a database secret; nothing here connects to it.
UNUSED_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:5432/unused"
ORIGINAL = "7/a.jpg"  # books/7/a.jpg, with the images prefix


class MissingKeyAsAws:
    """An S3 client whose GetObject of a missing key answers as AWS does: 404 when the caller
    may s3:ListBucket without a prefix (asked of moto through HeadBucket), else 403."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_object(self, **request: Any) -> Any:
        try:
            return self._client.get_object(**request)
        except ClientError as missing:
            if missing.response["Error"]["Code"] != "NoSuchKey":
                raise
            try:
                self._client.head_bucket(Bucket=request["Bucket"])
            except ClientError:
                denied = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
                raise ClientError(denied, "GetObject") from None
            raise


@contextmanager
def enforced_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terraform_dir: Path = TERRAFORM_DIR
) -> Iterator[EnforcedAccount]:
    """A fresh moto_server whose task roles are rendered from `terraform_dir`, enforcing."""
    monkeypatch.setattr(iam_policies, "load_terraform", lambda: load_terraform(terraform_dir))
    with servers.moto_server(tmp_path / "moto.log") as endpoint:
        account = open_account(endpoint, UNUSED_DATABASE)
        s3 = admin_client(endpoint, "s3")
        s3.put_object(Bucket=BUCKET, Key=f"books/{ORIGINAL}", Body=b"original")
        account.enforce(True)
        yield account


def storage_as(account: EnforcedAccount, service: str) -> S3Storage:
    client = MissingKeyAsAws(account.client(service, "s3"))
    return S3Storage(bucket=BUCKET, prefix="books/", client=client)


def test_the_apis_head_bucket_and_the_workers_missing_key_under_enforcement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with enforced_account(tmp_path, monkeypatch) as account:
        storage_as(account, "api").check()  # /health/deep's HeadBucket
        worker = storage_as(account, "worker")
        assert worker.get(ORIGINAL) == b"original"
        with pytest.raises(ObjectNotFoundError):
            worker.get("7/gone.jpg")  # source_object_missing, not a retried access error
        # beat lists books/ only: moto, told the AWS rule, refuses it the prefix-less forms.
        with pytest.raises(StorageError) as refused:
            storage_as(account, "beat").check()
        assert not isinstance(refused.value, ObjectNotFoundError)


# (the ListBucket statement's sid, the role that makes the prefix-less request, its call)
PLANTS = [
    ('sid = "ListBucket"', "api", lambda storage: storage.check()),
    ('sid = "TellMissingFromForbidden"', "worker", lambda storage: storage.get("7/gone.jpg")),
]


@pytest.mark.parametrize(("sid", "service", "call"), PLANTS, ids=["api", "worker"])
def test_an_s3_prefix_condition_put_back_on_list_bucket_is_denied_by_moto(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    planted: Callable[..., Path],
    sid: str,
    service: str,
    call: Callable[[S3Storage], object],
) -> None:
    """The first review's mistake: ListBucket limited to `s3:prefix` books/*, which AWS never
    matches for HeadBucket or the 404-or-403 decision."""
    root = planted("terraform")
    condition = (
        f'{sid}\n    condition {{\n      test     = "StringLike"\n'
        '      variable = "s3:prefix"\n      values   = ["${var.s3_images_prefix}*"]\n    }'
    )
    replace_in(root / "terraform/iam.tf", sid, condition, count=1)
    with enforced_account(tmp_path, monkeypatch, root / "terraform") as account:
        with pytest.raises(StorageError) as refused:
            call(storage_as(account, service))
        assert not isinstance(refused.value, ObjectNotFoundError), refused.value
