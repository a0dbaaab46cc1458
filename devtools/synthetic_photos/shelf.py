"""A bookshelf full of books, seen from the front: the backdrop of the `bookshelf` cases.

Rows of spines stand on wooden boards, every spine its own colour, width, height and title,
with the odd gap and a few books lying flat; each row is darker at the top, where the board
above shades it. The whole wall is drawn at the backdrop's working resolution and slightly
softened, as the far side of a room is by a phone's lens focused on the book in front.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from devtools.synthetic_photos.covers import font, ink_for, title_words

Rng = np.random.Generator
Colour = tuple[int, int, int]

# (saturation range, value range) of the spines for each tone of shelf.
TONES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "mixed": ((0.15, 0.65), (0.18, 0.82)),
    "dark": ((0.2, 0.7), (0.08, 0.32)),
    "light": ((0.03, 0.3), (0.72, 0.96)),
}
BACK_PANEL: Colour = (34, 24, 17)
BOARD: Colour = (120, 84, 52)
GOLD: Colour = (196, 164, 92)


def _spine_colour(rng: Rng, tone: str) -> Colour:
    (s_low, s_high), (v_low, v_high) = TONES[tone]
    hue = rng.uniform(0.0, 0.12) if rng.random() < 0.35 else rng.uniform(0, 1)  # many browns
    rgb = colorsys.hsv_to_rgb(hue, rng.uniform(s_low, s_high), rng.uniform(v_low, v_high))
    return (round(rgb[0] * 255), round(rgb[1] * 255), round(rgb[2] * 255))


def _spine(rng: Rng, size: tuple[int, int], colour: Colour) -> Image.Image:
    """One standing spine: rounded by shading at both sides, gilt bands on some, a title."""
    width, height = size
    across = np.linspace(-1, 1, width, dtype=np.float32)
    shade = 1.0 - 0.35 * across**4
    spine = np.array(colour, dtype=np.float32)[None, None, :] * shade[None, :, None]
    image = Image.fromarray(np.broadcast_to(spine, (height, width, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    if rng.random() < 0.4:
        for y in (height // 10, height - height // 10):
            draw.rectangle((0, y, width, y + max(height // 80, 1)), fill=GOLD)
    size_px = max(int(width * rng.uniform(0.35, 0.55)), 6)
    text = title_words(rng)
    label = Image.new("RGB", (int(height * 0.75), width), colour)
    ImageDraw.Draw(label).text(
        (height * 0.05, (width - size_px) / 2), text, fill=ink_for(colour), font=font(size_px)
    )
    image.paste(label.rotate(90, expand=True), (0, int(height * 0.12)))
    return image


def _row(rng: Rng, canvas: Image.Image, floor: int, clearance: int, tone: str, width: int) -> None:
    """Fill one shelf, left to right, with books standing on `floor` (the board's top)."""
    x = int(-rng.uniform(0, 0.1) * clearance)
    while x < width:
        if rng.random() < 0.015:  # a gap where a book is out
            x += int(clearance * rng.uniform(0.1, 0.3))
            continue
        if rng.random() < 0.04:  # a few books lying flat, spines out
            x += _lying_pile(rng, canvas, (x, floor), clearance, tone)
            continue
        height = int(clearance * rng.uniform(0.7, 0.94))
        thick = max(int(height * rng.uniform(0.07, 0.2)), 3)
        canvas.paste(_spine(rng, (thick, height), _spine_colour(rng, tone)), (x, floor - height))
        x += thick + int(rng.integers(0, 2))


def _lying_pile(
    rng: Rng, canvas: Image.Image, at: tuple[int, int], clearance: int, tone: str
) -> int:
    """Two to four books lying on each other; returns the width they take."""
    length = int(clearance * rng.uniform(0.55, 0.8))
    y = at[1]
    for _ in range(int(rng.integers(2, 5))):
        thick = max(int(clearance * rng.uniform(0.06, 0.12)), 3)
        spine = _spine(rng, (thick, length), _spine_colour(rng, tone)).rotate(90, expand=True)
        canvas.paste(spine, (at[0], y - thick))
        y -= thick
    return length + int(clearance * 0.05)


def bookshelf(tone: str, size: tuple[int, int], rng: Rng) -> Image.Image:
    """A wall of shelves filling `size`; `tone` is "mixed", "dark" or "light"."""
    if tone not in TONES:
        raise ValueError(f"no shelf tone {tone!r}; known: {sorted(TONES)}")
    width, height = size
    canvas = Image.new("RGB", size, BACK_PANEL)
    pitch = int(height * rng.uniform(0.3, 0.42))  # from one board to the next
    board = max(int(pitch * 0.07), 3)
    top = -int(rng.uniform(0.2, 0.8) * pitch)
    shade = np.ones((height, 1), dtype=np.float32)
    for floor in range(top + pitch, height + pitch, pitch):
        _row(rng, canvas, floor, pitch - board, tone, width)
        ImageDraw.Draw(canvas).rectangle((0, floor, width, floor + board), fill=BOARD)
        # The board above shades the top of the row; its own front edge catches the light.
        rows = np.arange(height)[:, None]
        depth = (rows - (floor - pitch + board)) / (pitch - board)
        in_row = (depth >= 0) & (depth < 1)
        shade = np.where(in_row, 0.55 + 0.45 * np.clip(depth * 2.2, 0, 1), shade)
    lit = np.asarray(canvas, dtype=np.float32) * shade[..., None]
    wall = Image.fromarray(lit.clip(0, 255).astype(np.uint8))
    return wall.filter(ImageFilter.GaussianBlur(max(width / 1400, 0.6)))
