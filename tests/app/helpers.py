"""Small helpers shared by the app tests: image bytes and Celery message decoding."""

from __future__ import annotations

import base64
import json
from typing import Any

from kombu.serialization import loads

# Just the signatures: the API judges by magic bytes and never decodes pixels.
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 64
GIF_BYTES = b"GIF89a" + b"\x00" * 64
TIFF_BYTES = b"II*\x00" + b"\x00" * 64
WEBP_BYTES = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64


def decode_celery_message(body: str) -> tuple[str, list[Any], dict[str, Any]]:
    """(task name, args, kwargs) of an SQS message body, decoded the way Celery's SQS transport
    does: base64 envelope -> kombu message -> body decoded by its content type and encoding."""
    envelope = json.loads(base64.b64decode(body))
    raw_body = envelope["body"]
    if envelope["properties"].get("body_encoding") == "base64":
        raw_body = base64.b64decode(raw_body)
    args, kwargs, _embed = loads(
        raw_body,
        envelope["content-type"],
        envelope["content-encoding"],
        accept={"application/json"},
    )
    return envelope["headers"]["task"], args, kwargs
