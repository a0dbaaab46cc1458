"""The composite and its PNG: what a client downloads is exactly the composite, pixel for pixel."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from worker.pipeline.compose import COLORS, composite, encode_png
from worker.pipeline.quality import BackgroundColor


def photo_and_mask(width: int, height: int) -> tuple[Image.Image, Image.Image]:
    """A noisy photo (the hard case for a PNG filter) and a soft-edged elliptical subject."""
    random = np.random.default_rng(7)
    pixels = random.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    rows, columns = np.ogrid[:height, :width]
    distance = ((columns - width / 2) / (width / 3)) ** 2 + (
        (rows - height / 2) / (height / 3)
    ) ** 2
    alpha = np.clip((1.2 - distance) * 255 / 0.4, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels), Image.fromarray(alpha)


@pytest.mark.parametrize("color", ["black", "white"])
@pytest.mark.parametrize("size", [(640, 480), (33, 1000), (1001, 37)])
def test_the_png_decodes_to_the_composite_exactly(
    color: BackgroundColor, size: tuple[int, int]
) -> None:
    image, mask = photo_and_mask(*size)
    result = composite(image, mask, color)
    decoded = Image.open(io.BytesIO(encode_png(result)))
    assert decoded.format == "PNG"
    assert decoded.mode == "RGB"
    assert decoded.size == size
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(result))
    # The backdrop is the solid colour where the mask is 0, the photo where it is 255.
    alpha = np.asarray(mask)
    assert (np.asarray(decoded)[alpha == 0] == COLORS[color]).all()
    np.testing.assert_array_equal(
        np.asarray(decoded)[alpha == 255], np.asarray(image)[alpha == 255]
    )


def test_a_solid_backdrop_compresses_to_a_fraction_of_the_pixels() -> None:
    """Run-length coding of the backdrop's rows is what the encoder's settings are for."""
    image, mask = photo_and_mask(1600, 1200)
    empty = Image.new("L", mask.size, 0)
    png = encode_png(composite(image, empty, "white"))
    assert len(png) < 1600 * 1200 * 3 / 100
