"""A book as a flat RGB layer with its exact binary mask: a cover lying flat with its page
edges showing, a book standing on its tail seen from the spine, or a stack of books.

The layer is later warped into the photo by a homography, so depth is drawn here the way
a camera slightly off-axis sees it: the faces that show are parallelograms beside the face
the camera looks at, and the outline is the union of those faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageStat

from devtools.synthetic_photos.covers import cover_art, spine_art
from devtools.synthetic_photos.geometry import Point, pillow_coefficients

Rng = np.random.Generator
PAGE_COLOUR = (234, 228, 212)
PAD = 2  # the layer keeps a margin so the bilinear warp never clips the outline


@dataclass(frozen=True)
class BookLayer:
    image: Image.Image  # RGB; pixels outside the mask hold the book's mean colour
    mask: Image.Image  # L; 255 on the book, 0 elsewhere
    outline: list[Point]  # the vertices of every face, in layer pixels


def _shade(image: Image.Image, factor: float) -> Image.Image:
    return image.point(lambda value: round(value * factor))


def _page_edges(
    size: tuple[int, int], rng: Rng, along_x: bool, board: float, cover: tuple[int, int, int]
) -> Image.Image:
    """The edge of a page block: fine lines along the face, with the boards at both sides."""
    width, height = size
    across = height if along_x else width
    tones = 1.0 - np.abs(rng.normal(0, 0.05, across)).astype(np.float32)
    tones[: max(int(across * board), 1)] = -1  # the covers' edges
    tones[across - max(int(across * board), 1) :] = -1
    strip = np.where(
        tones[:, None] < 0,
        np.array(cover, np.float32),
        np.array(PAGE_COLOUR, np.float32) * tones[:, None],
    )
    strip = strip.astype(np.uint8)[:, None, :] if along_x else strip.astype(np.uint8)[None, :, :]
    return Image.fromarray(np.broadcast_to(strip, (height, width, 3)).copy())


def _paste_face(
    layer: Image.Image, mask: Image.Image, face: Image.Image, quad: list[Point]
) -> None:
    """Warp a rectangular face onto a parallelogram of the layer and mark it in the mask.
    Only the parallelogram's bounding box is warped: faces are often thin strips."""
    left = max(int(min(x for x, _ in quad)), 0)
    top = max(int(min(y for _, y in quad)), 0)
    right = min(int(max(x for x, _ in quad)) + 2, layer.width)
    bottom = min(int(max(y for _, y in quad)) + 2, layer.height)
    local = [(x - left, y - top) for x, y in quad]
    coefficients = pillow_coefficients(face.size, (local[0], local[1], local[2], local[3]))
    box = (right - left, bottom - top)
    perspective, bilinear = Image.Transform.PERSPECTIVE, Image.Resampling.BILINEAR
    warped = face.transform(box, perspective, coefficients, bilinear)
    face_mask = Image.new("L", box, 0)
    ImageDraw.Draw(face_mask).polygon(local, fill=255)
    layer.paste(warped, (left, top), face_mask)
    mask.paste(255, (left, top), face_mask)


def finish_layer(layer: Image.Image, mask: Image.Image, outline: list[Point]) -> BookLayer:
    """The layer with the book's mean colour outside the mask (the warp blends edges with it)."""
    mean = tuple(int(v) for v in ImageStat.Stat(layer, mask).mean)
    background = Image.new("RGB", layer.size, mean)
    background.paste(layer, (0, 0), mask)
    return BookLayer(image=background, mask=mask, outline=outline)


def lying_cover(rng: Rng, long_side: int, art: str, light: bool, hardcover: bool) -> BookLayer:
    """Front cover seen from above; the fore-edge and tail show as page-edge faces."""
    height = long_side
    width = int(height * rng.uniform(0.64, 0.76))
    depth = width * (rng.uniform(0.07, 0.11) if hardcover else rng.uniform(0.025, 0.045))
    angle = np.radians(rng.uniform(25, 65))
    dx, dy = depth * np.cos(angle), depth * np.sin(angle)
    size = (int(np.ceil(width + dx)) + 2 * PAD, int(np.ceil(height + dy)) + 2 * PAD)
    layer, mask = Image.new("RGB", size), Image.new("L", size, 0)
    cover = cover_art(rng, (width, height), art, light)
    edge_colour = tuple(
        int(v * 0.7) for v in cover.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    )
    board = 0.14 if hardcover else 0.05
    x0, y0 = float(PAD), float(PAD)
    fore = [
        (x0 + width, y0),
        (x0 + width + dx, y0 + dy),
        (x0 + width + dx, y0 + height + dy),
        (x0 + width, y0 + height),
    ]
    tail = [
        (x0, y0 + height),
        (x0 + width, y0 + height),
        (x0 + width + dx, y0 + height + dy),
        (x0 + dx, y0 + height + dy),
    ]
    edge_size = (max(int(depth), 2), height)
    _paste_face(
        layer, mask, _shade(_page_edges(edge_size, rng, False, board, edge_colour), 0.9), fore
    )
    tail_size = (width, max(int(depth), 2))
    _paste_face(
        layer, mask, _shade(_page_edges(tail_size, rng, True, board, edge_colour), 0.78), tail
    )
    front = [(x0, y0), (x0 + width, y0), (x0 + width, y0 + height), (x0, y0 + height)]
    _paste_face(layer, mask, cover, front)
    return finish_layer(layer, mask, front + fore + tail)


def standing_spine(rng: Rng, long_side: int, light: bool, hardcover: bool) -> BookLayer:
    """A book standing on its tail, spine to the camera, its head and a sliver of the front
    cover showing because the camera is a little above and to the right."""
    height = long_side
    width = int(height * rng.uniform(0.11, 0.19))
    rise, slant = height * rng.uniform(0.03, 0.06), width * rng.uniform(0.4, 0.9)
    size = (int(np.ceil(width + slant)) + 2 * PAD, int(np.ceil(height + rise)) + 2 * PAD)
    layer, mask = Image.new("RGB", size), Image.new("L", size, 0)
    spine = spine_art(rng, (width, height), light, hardcover)
    ground = spine.getpixel((width // 2, 2))
    assert isinstance(ground, tuple)
    x0, y0 = float(PAD), float(PAD) + rise
    face = [(x0, y0), (x0 + width, y0), (x0 + width, y0 + height), (x0, y0 + height)]
    head = [(x0, y0), (x0 + slant, y0 - rise), (x0 + width + slant, y0 - rise), (x0 + width, y0)]
    side = [
        (x0 + width, y0),
        (x0 + width + slant, y0 - rise),
        (x0 + width + slant, y0 + height - rise),
        (x0 + width, y0 + height),
    ]
    board = 0.12 if hardcover else 0.05
    head_face = _page_edges((width, max(int(rise), 2)), rng, True, board, ground)
    _paste_face(layer, mask, _shade(head_face, 0.95), head)
    _paste_face(layer, mask, _shade(Image.new("RGB", (8, height), ground), 0.7), side)
    _paste_face(layer, mask, spine, face)
    return finish_layer(layer, mask, face + head + side)


def stack(rng: Rng, long_side: int, light: bool) -> BookLayer:
    """Two to five books lying on each other, spines to the camera; the top cover shows."""
    count = int(rng.integers(2, 6))
    full_width = long_side
    widths = [int(full_width * rng.uniform(0.78, 0.95)) for _ in range(count)]
    thicknesses = [int(full_width * rng.uniform(0.07, 0.15)) for _ in range(count)]
    offsets = [int(rng.uniform(0, full_width - w)) for w in widths]
    rise, slant = full_width * rng.uniform(0.04, 0.08), full_width * rng.uniform(0.02, 0.05)
    size = (int(full_width + slant) + 2 * PAD, int(sum(thicknesses) + rise) + 2 * PAD)
    layer, mask = Image.new("RGB", size), Image.new("L", size, 0)
    outline: list[Point] = []
    y = float(size[1] - PAD)
    for index in range(count):
        x, width, thick = float(PAD + offsets[index]), widths[index], thicknesses[index]
        book_light = light if rng.random() < 0.8 else not light
        spine = spine_art(rng, (thick, width), book_light, rng.random() < 0.5)
        face = [(x, y - thick), (x + width, y - thick), (x + width, y), (x, y)]
        _paste_face(layer, mask, spine.rotate(-90, expand=True), face)
        outline += face
        y -= thick
    # The top book's front cover, seen at a grazing angle: its colour is its spine's ground.
    ground = spine.getpixel((1, width // 2))
    assert isinstance(ground, tuple)
    top = [(x + slant, y - rise), (x + width + slant, y - rise), (x + width, y), (x, y)]
    _paste_face(layer, mask, _shade(Image.new("RGB", (8, 8), ground), 0.85), top)
    return finish_layer(layer, mask, outline + top)
