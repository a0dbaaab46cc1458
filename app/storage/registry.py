"""Which storage the settings name: an explicit registry, failing loudly on an unknown name.

Two areas share a backend: `images` (originals and results; S3 adds
`S3_IMAGES_PREFIX`) and `listings` (the drop zone imports copy from; at
`S3_LISTINGS_PREFIX`, `listings/` at the bucket root, outside the images prefix).
Keys in both are relative: `<book_id>/<file>` and `<listing_id>/<file>`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from app.settings import Settings, get_settings
from app.storage.base import Storage
from app.storage.local import LocalStorage
from app.storage.s3 import S3Storage

Area = Literal["images", "listings"]


def _s3(settings: Settings, area: Area) -> Storage:
    prefix = settings.s3_images_prefix if area == "images" else settings.s3_listings_prefix
    return S3Storage(bucket=settings.images_bucket, prefix=prefix)


def _local(settings: Settings, area: Area) -> Storage:
    return LocalStorage(root=settings.local_storage_dir / area)


STORAGE_BACKENDS: dict[str, Callable[[Settings, Area], Storage]] = {
    "s3": _s3,
    "local": _local,
}


def build_storage(settings: Settings, *, area: Area = "images") -> Storage:
    try:
        factory = STORAGE_BACKENDS[settings.storage_backend]
    except KeyError:
        known = ", ".join(sorted(STORAGE_BACKENDS))
        raise ValueError(
            f"unknown STORAGE_BACKEND {settings.storage_backend!r} (known: {known})"
        ) from None
    return factory(settings, area)


def get_storage() -> Storage:
    """The book images: originals and results. Cheap to call (the boto3 client is shared)."""
    return build_storage(get_settings(), area="images")


def get_listings_storage() -> Storage:
    """The listings drop zone that imports copy from."""
    return build_storage(get_settings(), area="listings")
