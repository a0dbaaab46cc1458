"""An open book lying on its back, seen from above: two pages of running text, the gutter
between them, the page block's edges at both sides and, for a hardcover, the boards showing
around the pages.

The pages are drawn flat, then bent: the paper rises from the gutter and sags again towards
the fore-edges, and since a raised part of the page is nearer the camera it looks taller.
Each column is therefore stretched about the page's middle line by its own factor, which
gives the top and bottom edges their gull-wing curve; the mask is the same stretch applied
to the flat page block, an interval per column, so it is exact.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from devtools.synthetic_photos.assets import bundled_grey
from devtools.synthetic_photos.books import PAD, BookLayer, finish_layer
from devtools.synthetic_photos.covers import base_colour, font
from devtools.synthetic_photos.geometry import Point
from devtools.synthetic_photos.words import WORDS, sentence_words

Rng = np.random.Generator
PAPER = (243, 239, 229)
INK = (38, 36, 34)


def _text_page(rng: Rng, size: tuple[int, int], left_hand: bool) -> Image.Image:
    """One page: a running head, justified-looking lines in paragraphs, maybe a figure,
    and the page number; the fore-edge shows as fine lines at the outer side."""
    width, height = size
    page = Image.new("RGB", size, PAPER)
    draw = ImageDraw.Draw(page)
    points = max(int(height * rng.uniform(0.016, 0.021)), 6)
    inner, outer = int(width * 0.09), int(width * 0.11)
    left, right = (outer, width - inner) if left_hand else (inner, width - outer)
    head = " ".join(WORDS[int(i)] for i in rng.choice(len(WORDS), 3, replace=False)).upper()
    draw.text((left, height * 0.05), head, fill=INK, font=font(int(points * 0.8)))
    y, bottom = height * 0.1, height * 0.9
    figure_at = rng.uniform(0.2, 0.6) if rng.random() < 0.4 else None
    while y + points < bottom:
        if figure_at is not None and y > height * figure_at:
            y = _figure(rng, page, (left, int(y), right, int(y + height * 0.28)))
            figure_at = None
            continue
        indent = points * 2 if rng.random() < 0.12 else 0
        last = rng.random() < 0.1  # a paragraph's short last line
        _line(
            rng,
            draw,
            (left + indent, int(y)),
            (right - left - indent) * (0.5 if last else 1),
            points,
        )
        y += points * 1.45 + (points if last else 0)
    number = str(int(rng.integers(12, 380)))
    draw.text(((left + right) / 2, height * 0.93), number, fill=INK, font=font(int(points * 0.8)))
    edge = np.asarray(page, dtype=np.float32).copy()
    band = max(int(width * 0.012), 2)
    columns = slice(0, band) if left_hand else slice(width - band, width)
    edge[:, columns] *= (0.82 + 0.12 * (np.arange(band) % 2))[None, :, None]
    return Image.fromarray(edge.astype(np.uint8))


def _line(
    rng: Rng, draw: ImageDraw.ImageDraw, at: tuple[int, int], width: float, points: int
) -> None:
    """Words up to `width` pixels, spread to fill it as justified text is."""
    words, length, face = [], 0.0, font(points)
    space = draw.textlength(" ", font=face)
    for word in sentence_words(rng, 24):
        size = draw.textlength(word, font=face)
        if length + size > width:
            break
        words.append((word, size))
        length += size + space
    if not words:
        return
    gap = (width - sum(size for _, size in words)) / max(len(words) - 1, 1)
    x = float(at[0])
    for word, size in words:
        draw.text((x, at[1]), word, fill=INK, font=face)
        x += size + gap


def _figure(rng: Rng, page: Image.Image, box: tuple[int, int, int, int]) -> float:
    """A greyscale plate with a caption rule under it; returns where the text goes on."""
    name = ("camera", "moon", "coins", "cell", "page")[int(rng.integers(5))]
    plate = bundled_grey(name).convert("RGB").resize((box[2] - box[0], box[3] - box[1]))
    page.paste(plate, box[:2])
    ImageDraw.Draw(page).rectangle((box[0], box[3] + 8, box[2] * 0.6, box[3] + 10), fill=INK)
    return box[3] + (box[3] - box[1]) * 0.15


def _lift(columns: int, curl: float) -> np.ndarray:
    """How much taller each column of the spread looks: 1 at the gutter, rising over the
    page and falling a little towards the fore-edges."""
    u = np.abs(np.linspace(-1, 1, columns, dtype=np.float32))
    return 1.0 + curl * np.sin(np.pi * 0.8 * u) ** 0.6


def open_book(rng: Rng, long_side: int, hardcover: bool) -> BookLayer:
    """An open book `long_side` pixels across both pages."""
    width = long_side
    page_height = int(width / 2 / rng.uniform(0.64, 0.74))
    spread = Image.new("RGB", (width, page_height))
    spread.paste(_text_page(rng, (width // 2, page_height), True), (0, 0))
    spread.paste(_text_page(rng, (width - width // 2, page_height), False), (width // 2, 0))
    lift = _lift(width, rng.uniform(0.02, 0.05))
    board = int(page_height * rng.uniform(0.018, 0.03)) if hardcover else 0
    height = int(np.ceil(page_height * lift.max())) + 2 * board
    size = (width + 2 * board + 2 * PAD, height + 2 * PAD)
    middle = size[1] / 2
    # Bend: the centre of output row y in column x shows the flat page at
    # (y + 0.5 - middle) / lift + half, so the page's edges land at middle -/+ half x lift.
    rows = np.arange(size[1], dtype=np.float32)[:, None] + 0.5
    source = (rows - middle) / lift[None, :] + page_height / 2
    inside = (source >= 0) & (source < page_height)
    flat = np.asarray(spread, dtype=np.float32)
    top = np.clip(np.floor(source), 0, page_height - 2).astype(np.intp)
    weight = np.clip(source - top, 0, 1)[..., None]
    columns = np.arange(width)[None, :]
    bent = flat[top, columns] * (1 - weight) + flat[top + 1, columns] * weight
    u = np.abs(np.linspace(-1, 1, width, dtype=np.float32))
    shade = (1 - 0.5 * np.exp(-u / 0.035)) * (1 + 0.05 * np.sign(np.linspace(-1, 1, width)))
    bent *= shade[None, :, None]
    layer = Image.new("RGB", size, base_colour(rng, rng.random() < 0.5))
    mask = Image.new("L", size, 0)
    outline: list[Point] = []
    if hardcover:
        edges = (PAD, PAD + middle - page_height / 2 - board)
        corners = (edges[0] + width + 2 * board, PAD + middle + page_height / 2 + board)
        mask.paste(255, (int(edges[0]), int(edges[1]), int(corners[0]), int(corners[1])))
        outline += [edges, (corners[0], edges[1]), corners, (edges[0], corners[1])]
    x0 = PAD + board
    pages = Image.fromarray(bent.clip(0, 255).astype(np.uint8))
    page_mask = Image.fromarray((inside * 255).astype(np.uint8))
    layer.paste(pages.crop((0, 0, width, size[1])), (x0, 0), page_mask)
    mask.paste(255, (x0, 0), page_mask)
    half = page_height / 2
    for x in [*range(0, width, 6), width]:
        stretch = lift[min(x, width - 1)]
        outline += [(x0 + x, middle - half * stretch), (x0 + x, middle + half * stretch)]
    return finish_layer(layer, mask, outline)
