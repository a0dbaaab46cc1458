"""Bytes to an upright RGB image no larger than asked, or a named reason why not."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from worker.pipeline.errors import PipelineError

# Smaller than this on either side cannot hold a recognisable book.
MIN_DIMENSION = 32


@dataclass(frozen=True)
class DecodedImage:
    rgb: Image.Image
    # The source's own transparency (RGBA/LA/palette with a transparent index),
    # at `rgb`'s size, or None when the source is opaque.
    alpha: Image.Image | None
    source_size: tuple[int, int]
    source_format: str


def decode_image(data: bytes, *, max_pixels: int, max_dimension: int) -> DecodedImage:
    if not data:
        raise PipelineError("empty_file", "the file is empty")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit below is the guard; silence Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise PipelineError("image_too_large", str(error)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise PipelineError("invalid_image", f"not a readable image: {error}") from None

    width, height = image.size
    if width * height > max_pixels:
        raise PipelineError(
            "image_too_large",
            f"{width}x{height} is {width * height} pixels, above the limit of {max_pixels}",
        )
    if min(width, height) < MIN_DIMENSION:
        raise PipelineError(
            "image_too_small", f"{width}x{height} is below {MIN_DIMENSION} px on a side"
        )
    source_format = image.format or "unknown"
    try:
        # Animated GIF/WebP and multi-page TIFF: the first frame is the photo.
        image.seek(0)
        if image.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers
            # the target: a 5000 px JPEG then costs a fraction of its full decode.
            image.draft("RGB", _fit((width, height), max_dimension))
        image.load()
        upright: Image.Image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise PipelineError("invalid_image", f"the image data is damaged: {error}") from None

    rgb, alpha = _to_rgb(upright)
    target = _fit(rgb.size, max_dimension)
    if target != rgb.size:
        rgb = rgb.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        alpha = alpha.resize(target, Image.Resampling.BILINEAR) if alpha else None
    return DecodedImage(rgb, alpha, (width, height), source_format)


def _fit(size: tuple[int, int], max_dimension: int) -> tuple[int, int]:
    width, height = size
    scale = max_dimension / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Any mode to RGB; transparency is kept apart and the RGB flattened onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey: scale to 8 bits instead of letting convert() clip at 255.
        wide = np.asarray(image, dtype=np.uint32)
        image = Image.fromarray((wide >> 8 if wide.max() > 255 else wide).astype(np.uint8))
    if image.mode == "F":
        image = _float_to_grey(image)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema() == (255, 255):
            return rgba.convert("RGB"), None
        flattened = Image.new("RGB", rgba.size, (255, 255, 255))
        flattened.paste(rgba, mask=alpha)
        return flattened, alpha
    return image.convert("RGB"), None


def _float_to_grey(image: Image.Image) -> Image.Image:
    """32-bit float grey to 8 bits. Scientific and HDR tools write 0..1; convert() would round
    that to 0 and 1, a black frame with no subject. Values up to 1 are scaled by 255, larger
    ones taken as 0..255 already; NaN and the infinities become black and white."""
    values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=255.0, neginf=0.0)
    if values.size and float(values.max()) <= 1.0:
        values = values * 255.0
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
