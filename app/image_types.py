"""What an upload is, judged by its first bytes (never by its name or declared type)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageType:
    name: str
    content_type: str
    extension: str


JPEG = ImageType("jpeg", "image/jpeg", ".jpg")
PNG = ImageType("png", "image/png", ".png")
GIF = ImageType("gif", "image/gif", ".gif")
WEBP = ImageType("webp", "image/webp", ".webp")
TIFF = ImageType("tiff", "image/tiff", ".tiff")

ACCEPTED_TYPES = (JPEG, PNG, WEBP, TIFF, GIF)

_SIGNATURES: tuple[tuple[bytes, ImageType], ...] = (
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),  # little-endian TIFF
    (b"MM\x00*", TIFF),  # big-endian TIFF
)


def sniff_image_type(data: bytes) -> ImageType | None:
    """The image type `data` starts with, or None when it is none of the accepted ones."""
    for signature, image_type in _SIGNATURES:
        if data.startswith(signature):
            return image_type
    # WebP: a RIFF container whose form type is WEBP.
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None
