"""The hard parts of a photo, applied in the order light and camera would: a hard sun shadow
falls on the table before the book is laid on it; gloss, props (with their own shadows) and
the shadow of window blinds come over the book; the phone shakes last.

They draw from their own random stream (seeded from the case's seed), so a plain photo
renders exactly as it did before they existed. Whatever covers the book is returned, so the
mask keeps only what is still the book: coverage x (1 - what lies over it) of at least half.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageChops, ImageFilter, ImageOps

from devtools.synthetic_photos import effects
from devtools.synthetic_photos.geometry import Point
from devtools.synthetic_photos.props import Placement, Prop, make_prop, place

if TYPE_CHECKING:
    from devtools.synthetic_photos.scene import SceneSpec

STREAM = 0x5EED  # mixed with the case's seed, so these draws never shift the plain ones
PROP_SHADOW = 0.45


def random_stream(spec: SceneSpec) -> np.random.Generator:
    return np.random.default_rng([spec.seed, STREAM])


def _reach(outline: list[Point]) -> float:
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    return max(max(xs) - min(xs), max(ys) - min(ys))


def before_book(
    photo: Image.Image,
    spec: SceneSpec,
    coverage: Image.Image,
    outline: list[Point],
    rng: np.random.Generator,
) -> Image.Image:
    """The table with the book's hard sun shadow on it, if the sun is out."""
    if spec.sun <= 0:
        return photo
    reach = _reach(outline)
    angle = rng.uniform(0, 2 * math.pi)
    offset = (reach * spec.sun_length * math.cos(angle), reach * spec.sun_length * math.sin(angle))
    return ImageChops.multiply(photo, effects.sun_shadow(coverage, offset, spec.sun, reach * 0.008))


def over_book(
    photo: Image.Image,
    spec: SceneSpec,
    coverage: Image.Image,
    outline: list[Point],
    rng: np.random.Generator,
) -> tuple[Image.Image, Image.Image]:
    """Gloss on the book, then the props, then the blinds' shadow over everything; returns
    the photo and what covers the book (L, 255 = opaque)."""
    covered = Image.new("L", photo.size, 0)
    if spec.gloss > 0:
        shine = effects.gloss(photo.size, outline, spec.gloss, rng)
        photo = effects.add_highlights(photo, shine, coverage)
    for entry in spec.props:
        name, _, where = entry.partition(":")
        placement = place(name, where == "over", outline, photo.size, rng)
        prop = make_prop(name, rng, _reach(outline), placement)
        photo, covered = _lay(photo, covered, prop, placement)
    if spec.blinds > 0:
        photo = ImageChops.multiply(photo, effects.blinds_shadow(photo.size, spec.blinds, rng))
    return photo, covered


def after_light(photo: Image.Image, spec: SceneSpec) -> Image.Image:
    """The phone's shake, if it shook."""
    if spec.shake <= 0:
        return photo
    return effects.motion_blur(photo, spec.shake * max(photo.size), spec.shake_angle)


def visible(coverage: Image.Image, covered: Image.Image) -> Image.Image:
    """How much of each pixel is still the book once the props lie over it."""
    return ImageChops.multiply(coverage, ImageChops.invert(covered))


def _lay(
    photo: Image.Image, covered: Image.Image, prop: Prop, placement: Placement
) -> tuple[Image.Image, Image.Image]:
    """Turn the prop, put its anchor at the placement, darken what is under its shadow and
    paste it; parts that fall outside the frame are simply cut off."""
    turned_rgb = prop.rgb.rotate(placement.angle, Image.Resampling.BICUBIC, expand=True)
    turned_alpha = prop.alpha.rotate(placement.angle, Image.Resampling.BILINEAR, expand=True)
    ax, ay = prop.anchor[0] - prop.rgb.width / 2, prop.anchor[1] - prop.rgb.height / 2
    turn = math.radians(placement.angle)
    rx = ax * math.cos(turn) + ay * math.sin(turn)
    ry = -ax * math.sin(turn) + ay * math.cos(turn)
    left = round(placement.centre[0] - turned_rgb.width / 2 - rx)
    top = round(placement.centre[1] - turned_rgb.height / 2 - ry)
    shade = Image.new("L", photo.size, 0)
    lift = (round(prop.height * 0.6), round(prop.height))  # the light is above and behind
    softness = max(prop.height * 0.5, 1.0)
    margin = math.ceil(softness * 3)
    soft = ImageOps.expand(turned_alpha, margin, fill=0).filter(ImageFilter.GaussianBlur(softness))
    shade.paste(soft, (left + lift[0] - margin, top + lift[1] - margin))
    darkness = shade.point(lambda value: 255 - round(value * PROP_SHADOW))
    photo = ImageChops.multiply(photo, Image.merge("RGB", (darkness,) * 3))
    photo.paste(turned_rgb, (left, top), turned_alpha)
    placed = Image.new("L", photo.size, 0)
    placed.paste(turned_alpha, (left, top))
    return photo, ImageChops.lighter(covered, placed)
