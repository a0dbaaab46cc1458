"""The bad-input corpus: every kind of awkward file a catalogue import can bring.

Each case is bytes plus what must become of it. Used by the pipeline, CLI and
worker tests alike, so "bad input" means the same thing at every layer.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image
from skimage import data as skdata

FRAME = (640, 480)
COVER = (220, 330)  # a portrait book, two thirds of the frame's height


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    data: bytes
    status: str  # "processed" | "failed"
    reason: str | None  # the failure reason when status is "failed"
    # For "processed": the output's (width, height), to prove orientation/downscale.
    size: tuple[int, int] | None = None


@cache
def book_photo(size: tuple[int, int] = FRAME) -> Image.Image:
    """A book (photo cover, page edge) lying on a light, slightly graded tabletop."""
    width, height = size
    ramp = np.linspace(205, 235, width, dtype=np.float32)
    table = np.stack([np.tile(ramp, (height, 1)) - shade for shade in (0, 6, 16)], axis=-1)
    scene = Image.fromarray(table.clip(0, 255).astype(np.uint8))
    cover = Image.fromarray(skdata.astronaut()).resize(COVER, Image.Resampling.LANCZOS)
    left, top = (width - COVER[0]) // 2, (height - COVER[1]) // 2
    scene.paste((40, 30, 28), (left - 6, top - 6, left + COVER[0] + 6, top + COVER[1] + 6))
    scene.paste((236, 230, 214), (left + COVER[0], top + 4, left + COVER[0] + 10, top + COVER[1]))
    scene.paste(cover, (left, top))
    return scene


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming width x height, with one tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))


def _exif_rotated_jpeg() -> bytes:
    """The photo stored sideways with EXIF orientation 6: viewers (and we) turn it upright."""
    sideways = book_photo().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    return _encode(sideways, "JPEG", quality=90, exif=exif.tobytes())


def _animated_gif() -> bytes:
    frames = [book_photo().quantize(64), book_photo().rotate(3).quantize(64)]
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _multipage_tiff() -> bytes:
    photo = book_photo()
    return _encode(photo, "TIFF", save_all=True, append_images=[photo.rotate(90)])


def _transparent_png() -> bytes:
    """A cut-out already: the book opaque, the tabletop fully transparent."""
    rgba = book_photo().convert("RGBA")
    alpha = Image.new("L", FRAME, 0)
    left, top = (FRAME[0] - COVER[0]) // 2, (FRAME[1] - COVER[1]) // 2
    alpha.paste(255, (left - 6, top - 6, left + COVER[0] + 10, top + COVER[1] + 6))
    rgba.putalpha(alpha)
    return _encode(rgba, "PNG")


def _palette_with_transparency() -> bytes:
    palette = book_photo().quantize(128)
    palette.info["transparency"] = 0
    return _encode(palette, "PNG", transparency=0)


def _sixteen_bit_png() -> bytes:
    grey = np.asarray(book_photo().convert("L"), dtype=np.uint16) * 257
    image = Image.fromarray(grey)
    assert image.mode == "I;16"
    return _encode(image, "PNG")


def _float_tiff() -> bytes:
    """32-bit float grey, values 0..1, as scientific and HDR tools write it."""
    grey = np.asarray(book_photo().convert("L"), dtype=np.float32) / 255.0
    image = Image.fromarray(grey)
    assert image.mode == "F"
    return _encode(image, "TIFF")


@cache
def bad_inputs() -> tuple[Case, ...]:
    photo = book_photo()
    jpeg = _encode(photo, "JPEG", quality=90)
    return _refused_on_format_or_size(jpeg) + _awkward_images(photo, jpeg)


def _refused_on_format_or_size(jpeg: bytes) -> tuple[Case, ...]:
    """Bytes that are no image, or an image too small or too large to process."""
    return (
        Case("empty", "empty.jpg", b"", "failed", "empty_file"),
        Case("truncated_jpeg", "truncated.jpg", jpeg[: len(jpeg) // 3], "failed", "invalid_image"),
        Case(
            "text_as_jpeg", "notes.jpg", b"these are not pixels\n" * 20, "failed", "invalid_image"
        ),
        Case(
            "one_pixel",
            "pixel.png",
            _encode(Image.new("RGB", (1, 1)), "PNG"),
            "failed",
            "image_too_small",
        ),
        Case(
            "decompression_bomb",
            "bomb.png",
            _png_header_only(30000, 30000),
            "failed",
            "image_too_large",
        ),
    )


def _awkward_images(photo: Image.Image, jpeg: bytes) -> tuple[Case, ...]:
    """Images that decode, in every mode and container a catalogue brings; all are processed
    but the blank one, which has no subject."""
    return (
        Case(
            "cmyk_jpeg",
            "cmyk.jpg",
            _encode(photo.convert("CMYK"), "JPEG"),
            "processed",
            None,
            FRAME,
        ),
        Case("sixteen_bit_png", "deep.png", _sixteen_bit_png(), "processed", None, FRAME),
        Case("float_tiff", "float.tiff", _float_tiff(), "processed", None, FRAME),
        Case(
            "palette_transparency",
            "palette.png",
            _palette_with_transparency(),
            "processed",
            None,
            FRAME,
        ),
        Case("grayscale", "grey.png", _encode(photo.convert("L"), "PNG"), "processed", None, FRAME),
        Case(
            "grayscale_alpha",
            "grey-alpha.png",
            _encode(photo.convert("LA"), "PNG"),
            "processed",
            None,
            FRAME,
        ),
        Case("exif_rotated", "rotated.jpg", _exif_rotated_jpeg(), "processed", None, FRAME),
        Case("animated_gif", "animated.gif", _animated_gif(), "processed", None, FRAME),
        Case("webp", "photo.webp", _encode(photo, "WEBP", quality=85), "processed", None, FRAME),
        Case("multipage_tiff", "pages.tiff", _multipage_tiff(), "processed", None, FRAME),
        Case("rgba_transparent", "cutout.png", _transparent_png(), "processed", None, FRAME),
        Case(
            "blank",
            "blank.jpg",
            _encode(Image.new("RGB", FRAME, (228, 228, 228)), "JPEG"),
            "failed",
            "quality_no_subject",
        ),
        Case("plain_jpeg", "book.jpg", jpeg, "processed", None, FRAME),
    )
