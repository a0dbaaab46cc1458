"""Procedural backdrops (wood, cloth, paper, concrete, brick) made with numpy.

Each backdrop is drawn at a modest working resolution and returned as an RGB image;
the scene scales it up to the photo's size, which also gives the soft look of a surface
slightly out of the lens's sharpest plane.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from devtools.synthetic_photos.assets import bundled_grey

Size = tuple[int, int]
Rng = np.random.Generator
Colour = tuple[int, int, int]

# Two ends of a colour ramp per (backdrop, tone).
PALETTES: dict[tuple[str, str], tuple[Colour, Colour]] = {
    ("wood", "light"): ((150, 104, 62), (214, 178, 132)),
    ("wood", "dark"): ((38, 22, 14), (102, 64, 38)),
    ("cloth", "light"): ((178, 168, 150), (226, 218, 200)),
    ("cloth", "dark"): ((14, 18, 30), (52, 58, 78)),
    ("cloth", "red"): ((90, 16, 20), (160, 40, 42)),
    ("paper", "light"): ((222, 218, 208), (246, 244, 238)),
    ("paper", "kraft"): ((150, 112, 72), (190, 152, 108)),
    ("paper", "dark"): ((24, 24, 27), (48, 47, 50)),
    ("concrete", "light"): ((140, 138, 132), (196, 193, 186)),
    ("concrete", "dark"): ((58, 58, 60), (108, 106, 104)),
    ("brick", "light"): ((176, 170, 160), (232, 228, 220)),
    ("brick", "red"): ((92, 40, 30), (170, 92, 66)),
    # White and black surfaces for the books of the same colour (white-on-white, black-on-black).
    ("paper", "white"): ((224, 224, 220), (250, 250, 247)),
    ("wood", "white"): ((204, 202, 196), (242, 240, 234)),
    ("cloth", "white"): ((212, 210, 204), (246, 245, 240)),
    ("cloth", "black"): ((5, 5, 7), (34, 33, 37)),
    ("wood", "black"): ((9, 8, 8), (44, 40, 37)),
}


def fractal_noise(rng: Rng, size: Size, cells: tuple[int, int], octaves: int = 4) -> np.ndarray:
    """Smooth noise (zero mean, unit deviation) as float32 of shape (height, width).
    `cells` is the (columns, rows) of the coarsest octave; unequal values stretch it."""
    width, height = size
    total = np.zeros((height, width), dtype=np.float32)
    for octave in range(octaves):
        columns, rows = cells[0] * 2**octave, cells[1] * 2**octave
        grid = rng.standard_normal((rows + 1, columns + 1)).astype(np.float32)
        layer = Image.fromarray(grid, mode="F").resize(size, Image.Resampling.BICUBIC)
        total += np.asarray(layer, dtype=np.float32) * 0.5**octave
    return (total - total.mean()) / (total.std() + 1e-6)


def colourize(field: np.ndarray, palette: tuple[Colour, Colour]) -> Image.Image:
    """Map a field in [0, 1] onto a two-colour ramp."""
    low, high = (np.array(colour, dtype=np.float32) for colour in palette)
    t = np.clip(field, 0.0, 1.0)[..., None]
    return Image.fromarray((low + (high - low) * t).round().astype(np.uint8), mode="RGB")


def wood(rng: Rng, size: Size) -> np.ndarray:
    """Planks running left to right: growth rings bent by noise, long grain streaks, seams."""
    height = size[1]
    y = np.arange(height, dtype=np.float32)[:, None] / height
    warp = fractal_noise(rng, size, (2, 3), octaves=3)
    streaks = fractal_noise(rng, size, (3, max(height // 6, 8)), octaves=2)
    plank_count = int(rng.integers(3, 7))
    plank = np.minimum((y * plank_count).astype(np.int32), plank_count - 1)
    ring_frequency = rng.uniform(6, 14, plank_count).astype(np.float32)[plank]
    ring_phase = rng.uniform(0, 1, plank_count).astype(np.float32)[plank]
    rings = np.sin(2 * np.pi * (y * ring_frequency * plank_count + ring_phase + 0.35 * warp))
    tint = rng.uniform(-0.08, 0.08, plank_count).astype(np.float32)[plank]
    fibres = fractal_noise(rng, size, (6, max(height // 2, 8)), octaves=1)
    field = 0.55 + 0.18 * rings + 0.12 * streaks + 0.06 * fibres + tint
    seam = np.abs((y * plank_count) - np.round(y * plank_count)) * height / plank_count < 1.2
    return np.where(seam, field - 0.45, field)


def cloth(rng: Rng, size: Size) -> np.ndarray:
    """Plain weave: alternating warp and weft threads with uneven thread thickness."""
    width, height = size
    period = 4.0
    x = np.arange(width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    over = ((x // period + y // period) % 2).astype(np.float32)
    warp = np.sin(np.pi * (x % period) / period) ** 2
    weft = np.sin(np.pi * (y % period) / period) ** 2
    threads_x = rng.normal(0, 0.06, width).astype(np.float32)[None, :]
    threads_y = rng.normal(0, 0.06, height).astype(np.float32)[:, None]
    weave = over * (warp + threads_x) + (1 - over) * (weft + threads_y)
    mottle = fractal_noise(rng, size, (3, 2), octaves=3)
    return 0.5 + 0.3 * (weave - 0.5) + 0.08 * mottle


def paper(rng: Rng, size: Size) -> np.ndarray:
    """A sheet of paper or card: faint mottling and fibres."""
    mottle = fractal_noise(rng, size, (2, 2), octaves=5)
    fibres = fractal_noise(rng, size, (size[0] // 6, size[1] // 24), octaves=1)
    return 0.6 + 0.1 * mottle + 0.05 * fibres


def concrete(rng: Rng, size: Size) -> np.ndarray:
    """Cast concrete: cloudy tone, aggregate from the bundled gravel photo, and small pits."""
    cloud = fractal_noise(rng, size, (3, 2), octaves=6)
    gravel = np.asarray(_tiled(bundled_grey("gravel"), size, rng), dtype=np.float32) / 255
    pits = rng.random(size[::-1]) < 0.0015
    field = 0.5 + 0.14 * cloud + 0.35 * (gravel - gravel.mean())
    return np.where(pits, field - 0.5, field)


def brick(rng: Rng, size: Size) -> np.ndarray:
    """A brick wall in running bond: courses offset by half a brick, recessed mortar joints,
    each brick its own shade, the surface pitted by noise."""
    width, height = size
    course = max(height // 14, 6)
    length = int(course * 2.6)
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :] + (y // course % 2) * (length // 2)
    row, column = y // course, x // length
    shades = rng.uniform(-0.15, 0.15, (height // course + 2, width // length + 3))
    joint = max(course // 9, 1)
    mortar = (y % course < joint) | (x % length < joint)
    face = 0.6 + shades[row, column] + 0.08 * fractal_noise(rng, size, (8, 6), octaves=3)
    return np.where(mortar, 0.12, face)


def _tiled(texture: Image.Image, size: Size, rng: Rng) -> Image.Image:
    """Repeat a texture (mirrored, so seams do not show) to cover `size`, from a random offset."""
    width, height = size
    tile = np.asarray(texture)
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1, :]], axis=0)
    reps = (height // tile.shape[0] + 2, width // tile.shape[1] + 2)
    big = np.tile(tile, reps)
    dy, dx = (int(rng.integers(0, n)) for n in tile.shape)
    return Image.fromarray(big[dy : dy + height, dx : dx + width])


BACKDROPS: dict[str, Callable[[Rng, Size], np.ndarray]] = {
    "wood": wood,
    "cloth": cloth,
    "paper": paper,
    "concrete": concrete,
    "brick": brick,
}


def make_backdrop(kind: str, tone: str, size: Size, rng: Rng) -> Image.Image:
    """A backdrop at `size` (width, height); unknown kinds or tones fail loudly."""
    if (kind, tone) not in PALETTES:
        raise ValueError(f"no backdrop {kind}/{tone}; known: {sorted(PALETTES)}")
    return colourize(BACKDROPS[kind](rng, size), PALETTES[(kind, tone)])
