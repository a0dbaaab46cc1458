"""Set the subject on its solid backdrop and encode the result."""

from __future__ import annotations

import imagecodecs
import numpy as np
from PIL import Image

from worker.pipeline.quality import BackgroundColor

COLORS: dict[str, tuple[int, int, int]] = {"black": (0, 0, 0), "white": (255, 255, 255)}

# libpng (through imagecodecs) at zlib level 1 with the run-length strategy and every row on
# the "Up" filter. The solid backdrop is long runs of one colour, which is what Z_RLE is for,
# and fixing the filter skips the per-row trial of every filter that Pillow's encoder always
# makes (Pillow has no setting for it). Measured on 32 composites of the bench and eval
# photos (docs/performance.md, "Where the cascade's time goes"): 17.9 ms and 0.527 MB a photo,
# against 44.8 ms and 0.495 MB for Pillow at the same level and strategy; Paeth 21.8 ms and
# 0.496 MB. The pixels are the same whatever the encoder: PNG is lossless.
PNG_OPTIONS = {
    "level": 1,
    "strategy": imagecodecs.PNG.STRATEGY.RLE,
    "filter": imagecodecs.PNG.FILTER.UP,
}


def composite(image: Image.Image, mask: Image.Image, color: BackgroundColor) -> Image.Image:
    """The image blended onto a solid colour, the mask as alpha (soft edges stay soft)."""
    backdrop = Image.new("RGB", image.size, COLORS[color])
    return Image.composite(image, backdrop, mask)


def encode_png(image: Image.Image) -> bytes:
    # bytes already (a bytearray only when given `out=`): bytes() returns it as it is.
    return bytes(imagecodecs.png_encode(np.asarray(image), **PNG_OPTIONS))
