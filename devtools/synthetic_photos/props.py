"""Things that lie beside a book or over it in a real photo, and are not the book: a pen,
a pair of folded glasses, a hand (`hands.py`). Each is drawn pointing along one axis at
twice its size, reduced (which leaves a soft edge), turned, placed, given a contact shadow,
and pasted over the photo; what it covers is returned, so that the mask can leave it out.

A prop named "<name>:over" lies over the book; "<name>" lies beside it. The lenses of the
glasses are clear glass: the book seen through them stays the book (their alpha is low).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from devtools.synthetic_photos.geometry import Point
from devtools.synthetic_photos.hands import hand

Rng = np.random.Generator
Colour = tuple[int, int, int]
SUPERSAMPLE = 2
PEN_COLOURS: tuple[Colour, ...] = ((20, 22, 30), (30, 60, 150), (190, 190, 196), (170, 30, 36))
FRAME_COLOURS: tuple[Colour, ...] = ((16, 16, 18), (92, 56, 30), (176, 150, 96))


@dataclass(frozen=True)
class Prop:
    rgb: Image.Image
    alpha: Image.Image  # coverage, 255 = opaque
    height: float  # how far above the surface it is, in pixels (sets its shadow's offset)
    anchor: Point  # the point of the prop that its placement puts in place


def pen(rng: Rng, length: float) -> Prop:
    """A ballpoint pen along x: a round barrel shaded as a cylinder, a cap with a clip, and
    a cone to the tip."""
    long, thick = round(length * SUPERSAMPLE), max(round(length * 0.075 * SUPERSAMPLE), 4)
    colour = np.array(PEN_COLOURS[int(rng.integers(len(PEN_COLOURS)))], dtype=np.float32)
    across = np.linspace(-1, 1, thick, dtype=np.float32)
    shine = 0.55 + 0.45 * np.sqrt(1 - across**2) + 0.5 * np.exp(-(((across + 0.45) / 0.12) ** 2))
    barrel = np.clip(colour[None, :] * shine[:, None] + 60 * (shine[:, None] > 1.2), 0, 255)
    rgb = Image.fromarray(np.broadcast_to(barrel[:, None, :], (thick, long, 3)).astype(np.uint8))
    alpha = Image.new("L", (long, thick), 0)
    draw = ImageDraw.Draw(alpha)
    cone = long * 0.08
    draw.rounded_rectangle((0, 0, long - cone, thick - 1), radius=thick // 2, fill=255)
    draw.polygon(
        [
            (long - cone, 0),
            (long - 1, thick / 2 - 1),
            (long - 1, thick / 2),
            (long - cone, thick - 1),
        ],
        fill=255,
    )
    ImageDraw.Draw(rgb).polygon(
        [
            (long - cone * 0.3, thick * 0.35),
            (long - 1, thick / 2),
            (long - cone * 0.3, thick * 0.65),
        ],
        fill=(150, 150, 150),
    )
    clip = (long * 0.06, thick * 0.05, long * 0.3, thick * 0.3)
    ImageDraw.Draw(rgb).rectangle(clip, fill=(205, 205, 210))
    return _reduce(rgb, alpha, height=length * 0.04)


def glasses(rng: Rng, width: float) -> Prop:
    """Folded reading glasses seen from above: two rims joined by a bridge, the temples
    folded behind the lenses, the lenses almost clear with a reflection across them."""
    w = round(width * SUPERSAMPLE)
    h = round(w * 0.42)
    rim = max(round(w * 0.025), 2)
    frame = FRAME_COLOURS[int(rng.integers(len(FRAME_COLOURS)))]
    rgb = Image.new("RGB", (w, h), (200, 214, 222))
    alpha = Image.new("L", (w, h), 0)
    lens_alpha = Image.new("L", (w, h), 0)
    draw, lenses = ImageDraw.Draw(alpha), ImageDraw.Draw(lens_alpha)
    lens_w, top = w * 0.43, h * 0.28
    boxes = [
        (w * 0.03, top, w * 0.03 + lens_w, h * 0.96),
        (w * 0.97 - lens_w, top, w * 0.97, h * 0.96),
    ]
    for box in boxes:
        lenses.rounded_rectangle(box, radius=round(lens_w * 0.35), fill=40)
        draw.rounded_rectangle(box, radius=round(lens_w * 0.35), outline=255, width=rim)
    draw.arc((w * 0.42, top - h * 0.05, w * 0.58, top + h * 0.25), 200, 340, fill=255, width=rim)
    for start, end in (
        ((w * 0.04, top + rim), (w * 0.9, h * 0.12)),
        ((w * 0.96, top + rim), (w * 0.12, h * 0.04)),
    ):
        draw.line((start, end), fill=255, width=rim)  # the folded temples
    frame_rgb = Image.new("RGB", (w, h), frame)
    rgb.paste(frame_rgb, (0, 0), alpha)
    reflection = Image.new("L", (w, h), 0)
    ImageDraw.Draw(reflection).polygon(
        [(w * 0.1, h), (w * 0.25, top), (w * 0.35, top), (w * 0.2, h)], fill=60
    )
    rgb = ImageChops.add(rgb, Image.merge("RGB", (reflection,) * 3))
    return _reduce(rgb, ImageChops.lighter(alpha, lens_alpha), height=width * 0.05)


def _reduce(rgb: Image.Image, alpha: Image.Image, height: float) -> Prop:
    size = (max(rgb.width // SUPERSAMPLE, 1), max(rgb.height // SUPERSAMPLE, 1))
    box = Image.Resampling.BOX
    rgb, alpha = rgb.resize(size, box), alpha.resize(size, box)
    return Prop(rgb=rgb, alpha=alpha, height=height, anchor=(size[0] / 2, size[1] / 2))


@dataclass(frozen=True)
class Placement:
    centre: Point  # where the prop's anchor goes
    angle: float  # degrees anticlockwise
    to_edge: float  # from the anchor to the frame's edge, the way a hand's arm runs


def make_prop(name: str, rng: Rng, reach: float, placement: Placement) -> Prop:
    """A prop in proportion to a book whose longer side is `reach` pixels. A pen and glasses
    are anchored at their middle; a hand at its fingertips, its arm long enough to leave
    the frame."""
    if name == "pen":
        return pen(rng, reach * rng.uniform(0.5, 0.62))
    if name == "glasses":
        return glasses(rng, reach * rng.uniform(0.5, 0.6))
    if name == "hand":
        length = reach * rng.uniform(0.62, 0.75)
        arm = max(placement.to_edge - length, 0.0) + length * 0.3
        rgb, alpha = hand(rng, length, arm_length=arm)
        return Prop(rgb=rgb, alpha=alpha, height=length * 0.08, anchor=(rgb.width / 2, 0.0))
    raise ValueError(f"unknown prop {name!r}; known: pen, glasses, hand")


def place(
    name: str, over: bool, outline: list[Point], frame: tuple[int, int], rng: Rng
) -> Placement:
    """Over the book: a pen or glasses near its middle at any angle, a hand with its
    fingertips some way in from an edge. Beside it: along one side of the book's box, far
    enough out that nothing of the prop reaches the book."""
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    middle = ((max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2)
    half = (max(xs) - min(xs)) / 2, (max(ys) - min(ys)) / 2
    side = int(rng.integers(4)) * math.pi / 2 + rng.uniform(-0.3, 0.3)
    direction = (math.cos(side), math.sin(side))
    edge = min(half[0] / max(abs(direction[0]), 1e-6), half[1] / max(abs(direction[1]), 1e-6))
    reach = 2 * max(half)
    if name == "hand":  # the arm comes in from `direction`, so the hand points back along it
        depth = edge * rng.uniform(0.35, 0.65) if over else edge + reach * 0.05
        angle = math.degrees(math.atan2(-direction[1], direction[0])) + 90
    elif over:
        depth, angle = edge * rng.uniform(0.0, 0.4), rng.uniform(0, 180)
    else:  # lying along the side, its thickness (a fifth of the book at most) outwards
        depth = edge + reach * rng.uniform(0.16, 0.22)
        angle = math.degrees(math.atan2(-direction[1], direction[0])) + 90 + rng.uniform(-8, 8)
    centre = (middle[0] + direction[0] * depth, middle[1] + direction[1] * depth)
    return Placement(centre=centre, angle=angle, to_edge=_to_edge(centre, direction, frame))


def _to_edge(point: Point, direction: Point, frame: tuple[int, int]) -> float:
    """How far from `point` along `direction` the frame ends (0 if the point is outside)."""
    distances = []
    for position, step, size in zip(point, direction, frame, strict=True):
        if step > 1e-9:
            distances.append((size - position) / step)
        elif step < -1e-9:
            distances.append(-position / step)
    return max(min(distances), 0.0)
