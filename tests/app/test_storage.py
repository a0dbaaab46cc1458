"""Storage: the same contract on S3 (moto_server over HTTP) and on a local directory."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from app.storage import (
    InvalidKeyError,
    ObjectNotFoundError,
    Storage,
    StorageError,
    TransientStorageError,
    build_storage,
    get_listings_storage,
    get_storage,
)
from app.storage.local import LocalStorage
from app.storage.s3 import S3Storage, translate_error
from tests import servers
from tests.app_stack import Infrastructure


def _s3(endpoint: str) -> object:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture(params=["s3", "local"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(root=tmp_path / "images")
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = f"storage-{uuid.uuid4().hex[:8]}"
    client = _s3(endpoint)
    client.create_bucket(Bucket=bucket)
    return S3Storage(bucket=bucket, prefix="books/", client=client)


def test_round_trip(storage: Storage) -> None:
    storage.put("7/cover.png", b"png-bytes", content_type="image/png")
    assert storage.get("7/cover.png") == b"png-bytes"
    assert storage.exists("7/cover.png")
    assert not storage.exists("7/other.png")
    storage.copy("7/cover.png", "7/copy.png")
    assert storage.get("7/copy.png") == b"png-bytes"
    storage.put("8/x.jpg", b"x", content_type="image/jpeg")
    assert storage.list_keys("7/") == ["7/copy.png", "7/cover.png"]
    assert storage.list_keys() == ["7/copy.png", "7/cover.png", "8/x.jpg"]
    storage.delete("7/cover.png")
    storage.delete("7/cover.png")  # deleting a missing key is fine
    assert not storage.exists("7/cover.png")
    storage.check()


def test_missing_object_is_not_found(storage: Storage) -> None:
    with pytest.raises(ObjectNotFoundError) as raised:
        storage.get("1/missing.jpg")
    assert raised.value.key == "1/missing.jpg"
    with pytest.raises(ObjectNotFoundError):
        storage.copy("1/missing.jpg", "1/target.jpg")
    assert not isinstance(raised.value, TransientStorageError)


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../escape", "1/../../x", "1//x", "./1/x"])
def test_keys_that_could_escape_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        storage.put(key, b"x", content_type="image/png")


def test_prefix_is_added_exactly_once_and_never_returned(
    infrastructure: Infrastructure, app_settings
) -> None:
    app_settings()  # the shared boto3 client points at moto_server
    storage = S3Storage(bucket=infrastructure.bucket, prefix="books/")
    storage.put("12/a.png", b"a", content_type="image/png")
    raw = _s3(infrastructure.endpoint).list_objects_v2(Bucket=infrastructure.bucket)
    assert [item["Key"] for item in raw["Contents"]] == ["books/12/a.png"]
    assert storage.list_keys() == ["12/a.png"]  # without the prefix


def test_doubled_prefix_is_impossible(infrastructure: Infrastructure, app_settings) -> None:
    app_settings()  # the shared boto3 client points at moto_server
    """The seed's bug: a key already carrying `books/` went to `books/books/...`."""
    storage = S3Storage(bucket=infrastructure.bucket, prefix="books/")
    storage.put("12/a.png", b"a", content_type="image/png")
    for key in storage.list_keys():  # a key read back can be written again unchanged
        storage.copy(key, key.replace("a.png", "b.png"))
    with pytest.raises(InvalidKeyError):
        storage.put("books/12/a.png", b"a", content_type="image/png")
    with pytest.raises(InvalidKeyError):
        storage.copy("12/a.png", "books/12/c.png")
    raw = _s3(infrastructure.endpoint).list_objects_v2(Bucket=infrastructure.bucket)
    keys = [item["Key"] for item in raw["Contents"]]
    assert keys == ["books/12/a.png", "books/12/b.png"]
    assert not any(key.startswith("books/books/") for key in keys)


def test_listings_copy_server_side_into_the_images_area(
    infrastructure: Infrastructure, app_settings
) -> None:
    app_settings()  # the shared boto3 client points at moto_server
    client = _s3(infrastructure.endpoint)
    client.put_object(
        Bucket=infrastructure.bucket,
        Key="listings/L1/a.jpg",
        Body=b"jpeg",
        ContentType="image/jpeg",
    )
    listings = S3Storage(bucket=infrastructure.bucket, prefix="listings/")
    images = S3Storage(bucket=infrastructure.bucket, prefix="books/")
    assert listings.list_keys("L1/") == ["L1/a.jpg"]
    images.copy_from(listings, "L1/a.jpg", "5/a.jpg")
    head = client.head_object(Bucket=infrastructure.bucket, Key="books/5/a.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert images.get("5/a.jpg") == b"jpeg"


def test_local_to_local_copy_between_areas(tmp_path: Path) -> None:
    listings = LocalStorage(root=tmp_path / "listings")
    images = LocalStorage(root=tmp_path / "images")
    listings.put("L1/a.jpg", b"jpeg", content_type="image/jpeg")
    images.copy_from(listings, "L1/a.jpg", "5/a.jpg")
    assert (tmp_path / "images" / "5" / "a.jpg").read_bytes() == b"jpeg"


def test_unreachable_s3_is_transient() -> None:
    port = servers.free_port()  # nothing listens here
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        config=boto3.session.Config(retries={"max_attempts": 1}),
    )
    started = time.monotonic()
    with pytest.raises(TransientStorageError):
        S3Storage(bucket="b", prefix="books/", client=client).get("1/a.jpg")
    assert time.monotonic() - started < 10


def test_missing_bucket_is_permanent(moto_endpoint: str) -> None:
    storage = S3Storage(
        bucket=f"absent-{uuid.uuid4().hex[:8]}", prefix="books/", client=_s3(moto_endpoint)
    )
    with pytest.raises(StorageError) as raised:
        storage.put("1/a.jpg", b"x", content_type="image/jpeg")
    assert not isinstance(raised.value, TransientStorageError | ObjectNotFoundError)
    with pytest.raises(StorageError):
        storage.check()


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (_client_error("NoSuchKey", 404), ObjectNotFoundError),
        (_client_error("404", 404), ObjectNotFoundError),
        (_client_error("SlowDown", 503), TransientStorageError),
        (_client_error("InternalError", 500), TransientStorageError),
        (_client_error("AccessDenied", 403), StorageError),
        (EndpointConnectionError(endpoint_url="http://x"), TransientStorageError),
    ],
)
def test_errors_are_classified(error: Exception, category: type[StorageError]) -> None:
    assert type(translate_error(error, key="1/a.jpg")) is category


def test_registry_picks_the_backend_from_settings(make_settings, tmp_path: Path) -> None:
    make_settings(storage_backend="local", local_storage_dir=tmp_path)
    assert isinstance(get_storage(), LocalStorage)
    assert get_listings_storage().describe() == f"file://{tmp_path / 'listings'}"
    settings = make_settings(storage_backend="s3", images_bucket="b", s3_images_prefix="/books")
    images = build_storage(settings)
    assert isinstance(images, S3Storage)
    assert images.describe() == "s3://b/books/"
    assert build_storage(settings, area="listings").describe() == "s3://b/listings/"
