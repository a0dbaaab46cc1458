"""Set the subject on its solid backdrop and encode the result."""

from __future__ import annotations

import io
import zlib

from PIL import Image

from worker.pipeline.quality import BackgroundColor

COLORS: dict[str, tuple[int, int, int]] = {"black": (0, 0, 0), "white": (255, 255, 255)}

# zlib level 1 with the run-length strategy: measured on a 2 MP composite, 62 ms
# and 0.43 MB, against 161 ms and 0.44 MB for Pillow's default level 6 — the
# solid backdrop is long runs of one colour, which is what Z_RLE is for.
PNG_OPTIONS = {"compress_level": 1, "compress_type": zlib.Z_RLE}


def composite(image: Image.Image, mask: Image.Image, color: BackgroundColor) -> Image.Image:
    """The image blended onto a solid colour, the mask as alpha (soft edges stay soft)."""
    backdrop = Image.new("RGB", image.size, COLORS[color])
    return Image.composite(image, backdrop, mask)


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **PNG_OPTIONS)
    return buffer.getvalue()
