"""One photo: a backdrop, a book warped into place with its soft shadow, the light and the
camera (gradient, vignette, blur, sensor noise, JPEG), and the exact mask of the book."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from devtools.synthetic_photos import extras
from devtools.synthetic_photos.books import BookLayer, lying_cover, stack, standing_spine
from devtools.synthetic_photos.geometry import Quad, homography, place_quad, project
from devtools.synthetic_photos.open_book import open_book
from devtools.synthetic_photos.shelf import bookshelf
from devtools.synthetic_photos.textures import make_backdrop
from devtools.synthetic_photos.tone import LUMA_WEIGHTS, mean_luma, tone_to_luma

TEXTURE_LONG_SIDE = 1400  # backdrops are drawn at most this large, then scaled to the photo
LAYER_LONG_SIDE = 2400  # book artwork resolution cap; larger photos upsample it slightly
NOISE_TILE = 1024
LUMA = np.array(LUMA_WEIGHTS)


@dataclass(frozen=True)
class SceneSpec:
    """Everything that decides one photo. `fill` is the book's longer side as a fraction of
    the frame's shorter side; `centre` is in fractions of the frame."""

    id: str
    kind: str  # cover | spine | stack | open | empty
    size: tuple[int, int]
    backdrop: str  # "<kind>/<tone>", e.g. "wood/dark"; "shelf/<tone>" is a wall of books
    category: str  # one of `cases.CATEGORIES`
    design: str = "light"  # light | dark | borderline-light | borderline-dark | none
    target_luma: float = 180.0
    art: str = "type"
    hardcover: bool = False
    fill: float = 0.7
    centre: tuple[float, float] = (0.5, 0.5)
    rotation: float = 0.0
    keystone: float = 0.0
    keystone_edge: int = 0
    wall: str | None = None  # a second backdrop behind a standing book, above the table
    horizon: float | None = None  # where the wall meets the table (fraction of the height)
    shadow: float = 0.45
    light_falloff: float = 0.12
    vignette: float = 0.15
    blur: float = 0.6
    noise: float = 2.0
    quality: int = 88
    seed: int = 0
    expect_valid: bool = True
    expected_reason: str | None = None
    # The hard parts of a photo (`extras`); the defaults leave a plain photo as it was.
    sun: float = 0.0  # darkness of a hard sun shadow beside the book (0 = overcast)
    sun_length: float = 0.2  # its length, as a fraction of the book's longer side
    gloss: float = 0.0  # strength of the specular highlights on the book (0 = matte)
    blinds: float = 0.0  # darkness of the shadow of window blinds across the scene
    props: tuple[str, ...] = ()  # "pen", "glasses", "hand", each optionally ":over" the book
    shake: float = 0.0  # motion blur, as a fraction of the frame's longer side
    shake_angle: float = 0.0  # its direction, degrees anticlockwise from the x axis


@dataclass(frozen=True)
class Rendered:
    jpeg: bytes
    mask: Image.Image  # L, 0 or 255
    outline_bbox: tuple[float, float, float, float] | None  # from geometry, not the mask
    subject_brightness: float | None  # mean luma of the decoded JPEG under the mask


def _build_layer(spec: SceneSpec, rng: np.random.Generator, long_side: int) -> BookLayer:
    light = spec.design in ("light", "borderline-light")
    if spec.kind == "cover":
        return lying_cover(rng, long_side, spec.art, light, spec.hardcover)
    if spec.kind == "spine":
        return standing_spine(rng, long_side, light, spec.hardcover)
    if spec.kind == "stack":
        return stack(rng, long_side, light)
    if spec.kind == "open":
        return open_book(rng, long_side, spec.hardcover)
    raise ValueError(f"unknown scene kind {spec.kind!r}")


def _lighting(spec: SceneSpec, rng: np.random.Generator) -> Image.Image:
    """A multiplier image (255 = unchanged): light falling off across the frame, a vignette,
    and a slight white-balance tint."""
    width, height = spec.size
    scale = 256 / max(width, height)
    small = (max(round(width * scale), 2), max(round(height * scale), 2))
    y, x = np.mgrid[0 : small[1], 0 : small[0]].astype(np.float32)
    x, y = x / small[0] - 0.5, y / small[1] - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = 1.0 - spec.light_falloff * (0.5 + x * np.cos(angle) + y * np.sin(angle))
    radius = np.sqrt(x**2 + y**2) / np.sqrt(0.5)
    gain = ramp * (1.0 - spec.vignette * radius**2)
    tint = 1.0 - np.abs(rng.normal(0, 0.025, 3))
    rgb = np.clip(gain[..., None] * tint * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(rgb).resize(spec.size, Image.Resampling.BILINEAR)


def _surface(name: str, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    kind, tone = name.split("/")
    if kind == "shelf":
        return bookshelf(tone, size, rng)
    return make_backdrop(kind, tone, size, rng)


def _backdrop(spec: SceneSpec, rng: np.random.Generator, horizon: float | None) -> Image.Image:
    width, height = spec.size
    scale = min(1.0, TEXTURE_LONG_SIDE / max(width, height))
    work = (max(round(width * scale), 8), max(round(height * scale), 8))
    table = _surface(spec.backdrop, work, rng).resize(spec.size, Image.Resampling.BILINEAR)
    if spec.wall is None or horizon is None:
        return table
    wall = _surface(spec.wall, work, rng).resize(spec.size, Image.Resampling.BILINEAR)
    wall = wall.point(lambda value: round(value * 0.9))  # the wall is lit less than the table
    if spec.horizon is not None:
        horizon = spec.horizon * height
    table.paste(wall.crop((0, 0, width, int(horizon))), (0, 0))
    return table


def _shadows(alpha: Image.Image, reach: float, strength: float, angle: float) -> Image.Image:
    """A multiplier image (RGB, 255 = unlit): a soft shadow cast away from the light plus a
    tight contact shadow under the book's edges. Drawn at most 800 pixels wide."""
    scale = min(1.0, 800 / max(alpha.size))
    small_size = (max(round(alpha.width * scale), 1), max(round(alpha.height * scale), 1))
    small = alpha.resize(small_size, Image.Resampling.BOX)
    cast = (reach * 0.04 * np.cos(angle), reach * 0.04 * np.sin(angle))
    shade = np.ones(small_size[::-1], dtype=np.float32)
    for offset, blur, darkness in (
        (cast, reach * 0.04, strength),
        ((0, reach * 0.004), reach * 0.006, 0.5),
    ):
        moved = Image.new("L", small_size, 0)
        moved.paste(small, (round(offset[0] * scale), round(offset[1] * scale)))
        soft = moved.filter(ImageFilter.GaussianBlur(max(float(blur * scale), 0.5)))
        shade *= 1.0 - darkness * np.asarray(soft, dtype=np.float32) / 255
    multiplier = Image.fromarray((shade * 255).round().astype(np.uint8))
    multiplier = multiplier.resize(alpha.size, Image.Resampling.BILINEAR)
    return Image.merge("RGB", (multiplier, multiplier, multiplier))


def _add_noise(photo: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    """Sensor noise. One 1024-pixel tile of it is drawn and repeated: the period cannot be
    seen, and a 5000-pixel frame costs two passes in C instead of 56 million draws."""
    tile = rng.standard_normal((NOISE_TILE, NOISE_TILE, 3), dtype=np.float32) * sigma
    tile = np.round(tile).clip(-127, 127).astype(np.int16)
    brighter = Image.fromarray(tile.clip(0, None).astype(np.uint8))
    darker = Image.fromarray((-tile).clip(0, None).astype(np.uint8))
    for part, combine in ((brighter, ImageChops.add), (darker, ImageChops.subtract)):
        layer = Image.new("RGB", photo.size)
        for top in range(0, photo.height, NOISE_TILE):
            for left in range(0, photo.width, NOISE_TILE):
                layer.paste(part, (left, top))
        photo = combine(photo, layer)
    return photo


@dataclass(frozen=True)
class _PlacedBook:
    rgb: Image.Image  # the book warped into its bounding box in the photo
    alpha: Image.Image  # its coverage there (soft at the edges)
    origin: tuple[int, int]  # where that box sits in the photo
    outline: list[tuple[float, float]]  # the book's corners in photo pixels


def _place_book(spec: SceneSpec, rng: np.random.Generator, lighting: Image.Image) -> _PlacedBook:
    """Draw the book, tone it to its designed luma (allowing for the light where it lies),
    and warp it into the photo."""
    width, height = spec.size
    long_side = spec.fill * min(width, height)
    layer = _build_layer(spec, rng, min(round(long_side), LAYER_LONG_SIDE))
    quad = place_quad(
        layer_size=layer.image.size,
        centre=(spec.centre[0] * width, spec.centre[1] * height),
        long_side=long_side,
        rotation_degrees=spec.rotation,
        keystone=spec.keystone,
        keystone_edge=spec.keystone_edge,
    )
    outline = project(homography(_corners(layer.image.size), quad), layer.outline)
    middle = (int(np.mean([p[0] for p in outline])), int(np.mean([p[1] for p in outline])))
    light_there = np.asarray(lighting.getpixel(middle), dtype=np.float64) @ LUMA / 255
    book = tone_to_luma(layer.image, layer.mask, min(spec.target_luma / light_there, 250.0))
    alpha, rgb, origin = _warp(book, layer.mask, quad)
    return _PlacedBook(rgb=rgb, alpha=alpha, origin=origin, outline=outline)


def render(spec: SceneSpec) -> Rendered:
    """The photo as JPEG bytes and its exact mask: the pixels where the book covers at least
    half of the pixel, i.e. the same coverage that blended the book into the photo, less
    whatever lies over it (`extras`)."""
    rng = np.random.default_rng(spec.seed)
    lighting = _lighting(spec, rng)
    if spec.kind == "empty":
        photo = ImageChops.multiply(_backdrop(spec, rng, None), lighting)
        return Rendered(_camera(photo, spec, rng), Image.new("L", spec.size, 0), None, None)
    book = _place_book(spec, rng, lighting)
    xs, ys = [p[0] for p in book.outline], [p[1] for p in book.outline]
    coverage = Image.new("L", spec.size, 0)
    coverage.paste(book.alpha, book.origin)
    background = _backdrop(spec, rng, max(ys) - 0.3 * (max(ys) - min(ys)))
    reach = max(max(xs) - min(xs), max(ys) - min(ys))
    shadows = _shadows(coverage, reach, spec.shadow, rng.uniform(0, 2 * np.pi))
    hard = extras.random_stream(spec)
    photo = ImageChops.multiply(background, shadows)
    photo = extras.before_book(photo, spec, coverage, book.outline, hard)
    photo.paste(book.rgb, book.origin, book.alpha)
    photo, covered = extras.over_book(photo, spec, coverage, book.outline, hard)
    photo = extras.after_light(ImageChops.multiply(photo, lighting), spec)
    jpeg = _camera(photo, spec, rng)
    mask = extras.visible(coverage, covered).point(lambda value: 255 if value >= 128 else 0)
    with Image.open(io.BytesIO(jpeg)) as decoded:
        brightness = mean_luma(np.asarray(decoded.convert("RGB")), np.asarray(mask))
    width, height = spec.size
    bbox = (max(min(xs), 0.0), max(min(ys), 0.0), min(max(xs), width), min(max(ys), height))
    return Rendered(jpeg, mask, bbox, brightness)


def _corners(size: tuple[int, int]) -> Quad:
    width, height = size
    return ((0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height)))


def _warp(
    book: Image.Image, mask: Image.Image, quad: Quad
) -> tuple[Image.Image, Image.Image, tuple[int, int]]:
    """Warp the layer onto `quad`, producing only the quad's bounding box (cheap on big frames)."""
    x0 = int(np.floor(min(p[0] for p in quad))) - 2
    y0 = int(np.floor(min(p[1] for p in quad))) - 2
    x1 = int(np.ceil(max(p[0] for p in quad))) + 2
    y1 = int(np.ceil(max(p[1] for p in quad))) + 2
    local: Quad = tuple((p[0] - x0, p[1] - y0) for p in quad)  # type: ignore[assignment]
    coefficients = tuple(float(v) for v in homography(local, _corners(book.size)).flatten()[:8])
    size = (x1 - x0, y1 - y0)
    perspective = Image.Transform.PERSPECTIVE
    rgb = book.transform(size, perspective, coefficients, Image.Resampling.BICUBIC)
    alpha = mask.transform(size, perspective, coefficients, Image.Resampling.BILINEAR)
    return alpha, rgb, (x0, y0)


def _camera(photo: Image.Image, spec: SceneSpec, rng: np.random.Generator) -> bytes:
    if spec.blur > 0:
        photo = photo.filter(ImageFilter.GaussianBlur(spec.blur))
    if spec.noise > 0:
        photo = _add_noise(photo, spec.noise, rng)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=spec.quality, optimize=False)
    return buffer.getvalue()
