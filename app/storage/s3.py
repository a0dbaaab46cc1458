"""Storage on S3 (or an emulator through AWS_ENDPOINT_URL). The only place a prefix is added."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from app.aws import aws_client
from app.storage.base import (
    InvalidKeyError,
    ObjectNotFoundError,
    Storage,
    StorageError,
    StoredObject,
    TransientStorageError,
    check_key,
)

logger = logging.getLogger(__name__)

# S3's own ceiling, for a listing page and for one DeleteObjects request alike.
_MAX_KEYS_PER_REQUEST = 1000

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_THROTTLING_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestTimeout"}
)


def normalize_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


def translate_error(error: Exception, *, key: str) -> StorageError:
    """Classify a boto3 failure: missing (permanent), transient (retry), or other (permanent)."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _NOT_FOUND_CODES:
            return ObjectNotFoundError(key)
        if code in _THROTTLING_CODES or status >= 500:
            return TransientStorageError(f"S3 {code} ({status}) on {key!r}")
        return StorageError(f"S3 {code} ({status}) on {key!r}")
    if isinstance(error, BotoConnectionError | HTTPClientError):
        return TransientStorageError(f"S3 unreachable on {key!r}: {type(error).__name__}")
    return StorageError(f"S3 failed on {key!r}: {type(error).__name__}")


@contextmanager
def _translated(key: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate_error(error, key=key) from error


class S3Storage(Storage):
    """One prefix of one bucket. Keys in and out are relative to the prefix."""

    name = "s3"

    def __init__(self, *, bucket: str, prefix: str, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = normalize_prefix(prefix)
        self._client = client

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else aws_client("s3")

    def object_key(self, key: str) -> str:
        """The S3 key for `key`: the prefix, added here and nowhere else."""
        check_key(key)
        if self.prefix and key.startswith(self.prefix):
            # A key that already carries the prefix was built from an S3 key by mistake;
            # refusing it is what makes `books/books/...` impossible.
            raise InvalidKeyError(f"key {key!r} already starts with the prefix {self.prefix!r}")
        return self.prefix + key

    def get(self, key: str) -> bytes:
        with _translated(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
            return bytes(response["Body"].read())

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        with _translated(key):
            self.client.put_object(
                Bucket=self.bucket, Key=self.object_key(key), Body=data, ContentType=content_type
            )

    def link(self, key: str, *, expires_in: int) -> str | None:
        """A presigned GET: signed here with the task role's credentials, no request made."""
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.object_key(key)},
                ExpiresIn=expires_in,
            )
        )

    def exists(self, key: str) -> bool:
        try:
            with _translated(key):
                self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ObjectNotFoundError:
            return False
        return True

    def content_type(self, key: str) -> str:
        with _translated(key):
            response = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        return str(response.get("ContentType") or "application/octet-stream")

    def delete(self, key: str) -> None:
        with _translated(key):
            self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def delete_many(self, keys: Sequence[str]) -> list[str]:
        """DeleteObjects, a thousand keys a request; S3 answers per key, and a key it did not
        delete (access denied, an internal error) is reported, not raised."""
        failed: list[str] = []
        valid: list[str] = []
        for key in keys:
            try:
                valid.append(self.object_key(key))
            except InvalidKeyError as error:
                logger.warning("not deleting %r: %s", key, error)
                failed.append(key)
        for start in range(0, len(valid), _MAX_KEYS_PER_REQUEST):
            batch = valid[start : start + _MAX_KEYS_PER_REQUEST]
            with _translated(batch[0][len(self.prefix) :]):
                response = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            for refused in response.get("Errors", []):
                key = str(refused.get("Key", ""))[len(self.prefix) :]
                logger.warning(
                    "could not delete %s: S3 %s %s",
                    key,
                    refused.get("Code"),
                    refused.get("Message"),
                )
                failed.append(key)
        return failed

    def list_objects(self, *, start_after: str = "", max_keys: int) -> list[StoredObject]:
        found: list[StoredObject] = []
        request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix}
        if start_after:
            # A position, not a key to read or write: no check_key, so that any key a listing
            # returned (however odd) can be passed back.
            request["StartAfter"] = self.prefix + start_after
        with _translated(start_after or self.prefix or "/"):
            while len(found) < max_keys:
                page = self.client.list_objects_v2(
                    **request, MaxKeys=min(_MAX_KEYS_PER_REQUEST, max_keys - len(found))
                )
                for item in page.get("Contents", []):
                    object_key = str(item["Key"])
                    if not object_key.endswith("/"):  # folder markers made by consoles
                        relative = object_key[len(self.prefix) :]
                        found.append(StoredObject(relative, item["LastModified"]))
                if not page.get("IsTruncated"):
                    break
                request.pop("StartAfter", None)
                request["ContinuationToken"] = page["NextContinuationToken"]
        return found

    def list_keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        with _translated(prefix or self.prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    object_key = str(item["Key"])
                    if not object_key.endswith("/"):  # folder markers made by consoles
                        keys.append(object_key[len(self.prefix) :])
        return sorted(keys)

    def copy_from(self, source: Storage, source_key: str, dest_key: str) -> None:
        if not isinstance(source, S3Storage):
            super().copy_from(source, source_key, dest_key)
            return
        copy_source = {"Bucket": source.bucket, "Key": source.object_key(source_key)}
        with _translated(source_key):
            # Server-side: the bytes never pass through the API.
            self.client.copy_object(
                Bucket=self.bucket, Key=self.object_key(dest_key), CopySource=copy_source
            )

    def check(self) -> None:
        with _translated(self.prefix or "/"):
            self.client.head_bucket(Bucket=self.bucket)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"
