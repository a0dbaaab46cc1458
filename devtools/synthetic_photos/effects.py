"""Light and camera effects of the hard cases: a hard sun shadow beside the book, the
shadow of window blinds across the scene, specular highlights on a glossy cover, and the
motion blur of a shaking phone.

Shadows and highlights are smooth, so each is drawn at most `WORK_SIDE` pixels wide and
scaled up; the shake is applied to the finished frame at full size.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from devtools.synthetic_photos.geometry import Point

Rng = np.random.Generator
WORK_SIDE = 800


def _small(size: tuple[int, int]) -> tuple[tuple[int, int], float]:
    scale = min(1.0, WORK_SIDE / max(size))
    return (max(round(size[0] * scale), 1), max(round(size[1] * scale), 1)), scale


def _grey_to_rgb(grey: np.ndarray, size: tuple[int, int]) -> Image.Image:
    image = Image.fromarray((grey * 255).round().clip(0, 255).astype(np.uint8))
    image = image.resize(size, Image.Resampling.BILINEAR)
    return Image.merge("RGB", (image, image, image))


def sun_shadow(
    coverage: Image.Image, offset: Point, darkness: float, softness: float
) -> Image.Image:
    """A multiplier (RGB, 255 = lit) for the shadow of a flat box in low sun: the footprint
    swept along `offset`, as a box's shadow is, with a penumbra `softness` pixels wide."""
    small_size, scale = _small(coverage.size)
    small = coverage.resize(small_size, Image.Resampling.BOX)
    steps = max(int(math.hypot(*offset) * scale / 2), 1)
    swept = Image.new("L", small_size, 0)
    for step in range(steps + 1):
        moved = Image.new("L", small_size, 0)
        shift = (round(offset[0] * scale * step / steps), round(offset[1] * scale * step / steps))
        moved.paste(small, shift)
        swept = ImageChops.lighter(swept, moved)
    swept = swept.filter(ImageFilter.GaussianBlur(max(softness * scale, 0.5)))
    shade = 1.0 - darkness * np.asarray(swept, dtype=np.float32) / 255
    return _grey_to_rgb(shade, coverage.size)


def blinds_shadow(size: tuple[int, int], darkness: float, rng: Rng) -> Image.Image:
    """A multiplier for the shadow of venetian blinds: parallel slats with soft edges,
    crossing the frame at a slant, and one thick bar where the window frame is."""
    small_size, _ = _small(size)
    y, x = np.mgrid[0 : small_size[1], 0 : small_size[0]].astype(np.float32)
    angle = math.radians(rng.uniform(-35, 35) + (90 if rng.random() < 0.5 else 0))
    across = (x * math.sin(angle) - y * math.cos(angle)) / max(small_size)
    period = rng.uniform(0.06, 0.1)
    phase = np.mod(across / period + rng.uniform(0, 1), 1.0)
    slat = np.clip((np.abs(phase - 0.5) - 0.2) / 0.08, 0, 1)  # 1 in the shadow of a slat
    along = (x * math.cos(angle) + y * math.sin(angle)) / max(small_size)
    bar_at = rng.uniform(along.min(), along.max())
    bar = np.clip((0.025 - np.abs(along - bar_at)) / 0.01, 0, 1)  # the window's mullion
    shadow = np.maximum(slat, bar) if rng.random() < 0.5 else slat
    return _grey_to_rgb(1.0 - darkness * shadow, size)


def gloss(size: tuple[int, int], outline: list[Point], strength: float, rng: Rng) -> Image.Image:
    """Specular highlights over the book's outline box (L, 255 = white): the reflection of a
    window as a soft bright band, and of a lamp as a blob, both nearly saturating."""
    small_size, scale = _small(size)
    xs = np.array([p[0] for p in outline]) * scale
    ys = np.array([p[1] for p in outline]) * scale
    reach = max(np.ptp(xs), np.ptp(ys))
    y, x = np.mgrid[0 : small_size[1], 0 : small_size[0]].astype(np.float32)
    middle = ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)

    def near_middle(spread: float) -> tuple[float, float]:
        return (
            middle[0] + rng.uniform(-spread, spread) * np.ptp(xs),
            middle[1] + rng.uniform(-spread, spread) * np.ptp(ys),
        )

    centre, angle = near_middle(0.2), rng.uniform(0, math.pi)
    distance = (x - centre[0]) * math.sin(angle) - (y - centre[1]) * math.cos(angle)
    band_width = reach * rng.uniform(0.05, 0.1)
    band = np.exp(-((distance / band_width) ** 4))
    sheen = np.exp(-((distance / (band_width * 3.5)) ** 2))  # the window's duller surround
    spot, radius = near_middle(0.3), reach * rng.uniform(0.05, 0.1)
    blob = np.exp(-(((x - spot[0]) ** 2 + (y - spot[1]) ** 2) / (2 * radius**2)))
    light = np.clip(strength * np.maximum.reduce([0.92 * band, 0.3 * sheen, blob]), 0, 0.97)
    image = Image.fromarray((light * 255).round().astype(np.uint8))
    return image.resize(size, Image.Resampling.BILINEAR)


def add_highlights(photo: Image.Image, highlights: Image.Image, where: Image.Image) -> Image.Image:
    """Screen the highlights onto the photo, only where `where` (the book) is."""
    shine = ImageChops.multiply(highlights, where)
    return ImageChops.screen(photo, Image.merge("RGB", (shine, shine, shine)))


def motion_blur(photo: Image.Image, length: float, angle_degrees: float) -> Image.Image:
    """Blur along a straight line `length` pixels long: the frame is padded with its own
    edge (so no black creeps in), turned so the motion runs along x, box-blurred along x
    only, and turned back."""
    radius = max(round(length / 2), 1)
    pad = radius + 2
    padded = Image.fromarray(np.pad(np.asarray(photo), ((pad, pad), (pad, pad), (0, 0)), "edge"))
    turned = padded.rotate(-angle_degrees, Image.Resampling.BICUBIC, expand=True)
    blurred = turned.filter(ImageFilter.BoxBlur((radius, 0)))
    back = blurred.rotate(angle_degrees, Image.Resampling.BICUBIC, expand=True)
    left = (back.width - photo.width) // 2
    top = (back.height - photo.height) // 2
    return back.crop((left, top, left + photo.width, top + photo.height))
