"""A hand with its forearm, seen from above, the back of the hand up: the `clutter` cases lay
it beside a book or over one, reaching in from the edge of the frame.

Drawn pointing up (fingertips at the top, the arm running down to the bottom of the
canvas) from capsules and polygons at twice the size, then reduced, which leaves a soft
anti-aliased edge; the skin is shaded darker towards the outline, as a rounded object is.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

Rng = np.random.Generator
Colour = tuple[int, int, int]

SKIN: tuple[Colour, ...] = ((232, 190, 160), (214, 164, 128), (176, 122, 88), (120, 80, 56))
SLEEVES: tuple[Colour, ...] = ((46, 62, 98), (150, 150, 146), (24, 24, 28), (168, 40, 44))
SUPERSAMPLE = 2
# Fingers as (base x, length, width, angle in degrees from straight up), in hand lengths,
# from the index finger to the little finger; the thumb is drawn apart.
FINGERS = (
    (-0.15, 0.44, 0.105, -5),
    (-0.05, 0.49, 0.11, -1),
    (0.05, 0.46, 0.105, 3),
    (0.14, 0.37, 0.092, 8),
)


def _capsule(
    draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float], width: float
) -> None:
    draw.line((start, end), fill=255, width=round(width))
    for x, y in (start, end):
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)


def _finger(
    draw: ImageDraw.ImageDraw,
    base: tuple[float, float],
    length: float,
    width: float,
    angle: float,
    bend: float,
) -> tuple[float, float]:
    """Two joints' worth of finger, the outer one bent by `bend` degrees; returns the tip."""
    tip = base
    for part, turn in ((0.55, 0.0), (0.45, bend)):
        heading = np.radians(angle + turn)
        end = (tip[0] + part * length * np.sin(heading), tip[1] - part * length * np.cos(heading))
        _capsule(draw, tip, end, width)
        tip = end
    return tip


def hand(rng: Rng, hand_length: float, arm_length: float) -> tuple[Image.Image, Image.Image]:
    """The hand and forearm as (RGB, alpha); the wrist is `arm_length` pixels above the
    bottom edge, the fingertips `hand_length` above the wrist. Mirrored half the time, so
    left and right hands both occur."""
    unit = hand_length * SUPERSAMPLE
    width = round(unit * 1.1)
    height = round(unit + arm_length * SUPERSAMPLE)
    wrist = (width / 2, height - arm_length * SUPERSAMPLE)
    alpha = Image.new("L", (width, height), 0)
    sleeve = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(alpha)

    def at(x: float, y: float) -> tuple[float, float]:
        return (wrist[0] + x * unit, wrist[1] - y * unit)

    spread = rng.uniform(0.3, 1.2)
    palm = [at(-0.16, 0.0), at(-0.21, 0.25), at(-0.21, 0.44), at(-0.15, 0.5), at(0.0, 0.52)]
    palm += [at(0.15, 0.49), at(0.2, 0.42), at(0.2, 0.2), at(0.16, 0.0)]
    draw.polygon(palm, fill=255)
    tips = []
    for base_x, length, finger_width, angle in FINGERS:
        base = at(base_x, 0.44)
        bend = rng.uniform(0, 12)
        tips.append(_finger(draw, base, length * unit, finger_width * unit, angle * spread, bend))
    _finger(draw, at(-0.17, 0.1), 0.36 * unit, 0.125 * unit, -34 - 14 * spread, 18)  # thumb
    elbow = (wrist[0] + 0.23 * unit, height), (wrist[0] - 0.23 * unit, height)
    arm = [at(-0.17, 0.0), at(0.17, 0.0), *elbow]
    draw.polygon(arm, fill=255)
    cuff = wrist[1] + rng.uniform(0.15, 0.5) * unit
    if cuff < height:  # a short arm may end before its sleeve starts
        ImageDraw.Draw(sleeve).rectangle((0, cuff, width, height), fill=255)
    sleeve = ImageChops.multiply(sleeve, alpha)
    rgb = _skin(rng, alpha, sleeve, tips, unit)
    size = (max(width // SUPERSAMPLE, 1), max(height // SUPERSAMPLE, 1))
    rgb, alpha = (image.resize(size, Image.Resampling.BOX) for image in (rgb, alpha))
    if rng.random() < 0.5:
        rgb, alpha = (image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for image in (rgb, alpha))
    return rgb, alpha


def _skin(
    rng: Rng, alpha: Image.Image, sleeve: Image.Image, tips: list[tuple[float, float]], unit: float
) -> Image.Image:
    """Skin shaded darker towards the outline, pale nails at the tips, knuckle creases, and
    a sleeve over the forearm."""
    skin = np.array(SKIN[int(rng.integers(len(SKIN)))], dtype=np.float32)
    cloth = np.array(SLEEVES[int(rng.integers(len(SLEEVES)))], dtype=np.float32)
    rounded = np.asarray(alpha.filter(ImageFilter.GaussianBlur(unit * 0.03)), np.float32) / 255
    shade = 0.62 + 0.38 * np.clip((rounded - 0.5) * 2.2, 0, 1) ** 0.6
    shade *= np.linspace(1.06, 0.9, alpha.width, dtype=np.float32)[None, :]  # lit from one side
    covered = np.asarray(sleeve, dtype=np.float32)[..., None] / 255
    colour = (skin * (1 - covered) + cloth * covered) * shade[..., None]
    image = Image.fromarray(colour.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    nail = tuple(int(min(v * 1.04 + 8, 255)) for v in skin)
    for x, y in tips:
        radius = unit * 0.03
        draw.ellipse((x - radius, y - radius * 0.1, x + radius, y + radius * 1.9), fill=nail)
    return image.filter(ImageFilter.GaussianBlur(unit * 0.004))
