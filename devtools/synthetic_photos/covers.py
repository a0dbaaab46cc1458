"""Cover and spine artwork: bundled photos or procedural designs, with titles in Pillow's
default font (FreeType Aileron when Pillow has FreeType, which its wheels do)."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from devtools.synthetic_photos.assets import bundled_grey, bundled_rgb
from devtools.synthetic_photos.textures import fractal_noise
from devtools.synthetic_photos.words import AUTHORS, WORDS

Rng = np.random.Generator
Colour = tuple[int, int, int]

LIGHT_COLOURS: tuple[Colour, ...] = (
    (238, 232, 214),
    (250, 250, 246),
    (214, 228, 236),
    (246, 222, 198),
    (224, 236, 214),
)
DARK_COLOURS: tuple[Colour, ...] = (
    (22, 30, 58),
    (60, 14, 20),
    (18, 44, 32),
    (28, 28, 30),
    (52, 30, 62),
)
PLAIN_WHITE, PLAIN_BLACK = (247, 246, 242), (17, 17, 19)
ACCENTS: tuple[Colour, ...] = ((196, 48, 40), (230, 170, 40), (40, 110, 170), (20, 20, 20))


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(size, 6))


def title_words(rng: Rng) -> str:
    count = int(rng.integers(2, 5))
    return " ".join(WORDS[int(i)] for i in rng.choice(len(WORDS), count, replace=False))


def base_colour(rng: Rng, light: bool) -> Colour:
    colours = LIGHT_COLOURS if light else DARK_COLOURS
    return colours[int(rng.integers(len(colours)))]


def ink_for(background: Colour) -> Colour:
    """Dark ink on a light ground, light ink on a dark one."""
    luma = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (24, 22, 20) if luma > 128 else (240, 234, 220)


def draw_text_block(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, colour: Colour
) -> None:
    """Word-wrap `text` into `box`, as large as fits (at most three lines), centred."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    words = text.split()
    for size in range(max(height // 2, 8), 7, -2):
        lines, line = [], ""
        for word in words:
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=font(size)) <= width or not line:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
        line_height = int(size * 1.15)
        fits = all(draw.textlength(x, font=font(size)) <= width for x in lines)
        if fits and len(lines) <= 3 and line_height * len(lines) <= height:
            break
    y = top + (height - line_height * len(lines)) // 2
    for line in lines:
        x = left + (width - draw.textlength(line, font=font(size))) / 2
        draw.text((x, y), line, fill=colour, font=font(size))
        y += line_height


def photo_cover(
    rng: Rng, size: tuple[int, int], photo: str, light: bool, band: bool = True
) -> Image.Image:
    """A bundled photo cropped to the cover, with a title band across the top or bottom; with
    `band=False` a full-bleed jacket: the photo to every edge, the title printed over it."""
    width, height = size
    source = bundled_rgb(photo)
    scale = max(width / source.width, height / source.height) * rng.uniform(1.0, 1.3)
    resized = source.resize((round(source.width * scale), round(source.height * scale)))
    x = int(rng.integers(0, resized.width - width + 1))
    y = int(rng.integers(0, resized.height - height + 1))
    cover = resized.crop((x, y, x + width, y + height))
    if not band:
        _print_over_photo(rng, cover)
        return cover
    band_colour = base_colour(rng, light)
    band_height = int(height * rng.uniform(0.22, 0.34))
    band_top = 0 if rng.random() < 0.5 else height - band_height
    draw = ImageDraw.Draw(cover)
    draw.rectangle((0, band_top, width, band_top + band_height), fill=band_colour)
    margin = width // 12
    title_box = (
        margin,
        band_top + band_height // 10,
        width - margin,
        band_top + band_height * 7 // 10,
    )
    draw_text_block(draw, title_box, title_words(rng), ink_for(band_colour))
    author_box = (
        margin,
        band_top + band_height * 7 // 10,
        width - margin,
        band_top + band_height - 4,
    )
    draw_text_block(
        draw, author_box, AUTHORS[int(rng.integers(len(AUTHORS)))], ink_for(band_colour)
    )
    return cover


def _print_over_photo(rng: Rng, cover: Image.Image) -> None:
    """Title and author straight on the photo, in whichever ink stands out from it there."""
    width, height = cover.size
    margin = width // 10
    title_box = (margin, height // 14, width - margin, height * 3 // 10)
    author_box = (margin, height * 86 // 100, width - margin, height * 94 // 100)
    draw = ImageDraw.Draw(cover)
    for box, text in (
        (title_box, title_words(rng)),
        (author_box, AUTHORS[int(rng.integers(len(AUTHORS)))]),
    ):
        under = cover.crop(box).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        assert isinstance(under, tuple)
        draw_text_block(draw, box, text, ink_for((under[0], under[1], under[2])))


def designed_cover(rng: Rng, size: tuple[int, int], style: str, light: bool) -> Image.Image:
    """A typographic cover: plain ground with stripes and discs ("type"), a colour field of
    smooth noise ("abstract"), a textbook with a bundled greyscale plate ("plate"), or only
    the title on white or black ("plain")."""
    width, height = size
    ground = base_colour(rng, light)
    accent = ACCENTS[int(rng.integers(len(ACCENTS)))]
    if style == "plain":  # nothing but type on a white or a black ground
        ground = PLAIN_WHITE if light else PLAIN_BLACK
    if style == "abstract":
        field = fractal_noise(rng, (max(width // 4, 8), max(height // 4, 8)), (2, 3), octaves=3)
        t = np.clip(0.5 + 0.25 * field, 0, 1)[..., None]
        other = np.array(base_colour(rng, light), dtype=np.float32)
        art = np.array(ground, dtype=np.float32) * (1 - t) + other * t
        cover = Image.fromarray(art.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    else:
        cover = Image.new("RGB", size, ground)
    draw = ImageDraw.Draw(cover)
    if style == "type":
        for index in range(int(rng.integers(2, 6))):
            y = int(height * (0.55 + 0.06 * index))
            draw.rectangle((0, y, width, y + max(height // 60, 2)), fill=accent)
        radius = int(width * rng.uniform(0.12, 0.25))
        centre = (int(width * rng.uniform(0.3, 0.7)), int(height * rng.uniform(0.62, 0.8)))
        draw.ellipse(
            (centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius),
            outline=accent,
            width=max(width // 80, 2),
        )
    elif style == "plate":
        plate_name = ("camera", "moon", "coins", "page", "cell")[int(rng.integers(5))]
        plate = bundled_grey(plate_name).convert("RGB")
        box = (width // 8, int(height * 0.42), width * 7 // 8, int(height * 0.88))
        cover.paste(plate.resize((box[2] - box[0], box[3] - box[1])), box[:2])
        draw.rectangle(box, outline=accent, width=max(width // 120, 2))
    margin = width // 10
    draw_text_block(
        draw,
        (margin, height // 12, width - margin, height * 3 // 10),
        title_words(rng),
        ink_for(ground),
    )
    draw_text_block(
        draw,
        (margin, height * 3 // 10, width - margin, height * 38 // 100),
        AUTHORS[int(rng.integers(len(AUTHORS)))],
        ink_for(ground),
    )
    return cover


def cover_art(rng: Rng, size: tuple[int, int], art: str, light: bool) -> Image.Image:
    """`art` is "photo:<bundled name>", "bleed:<bundled name>" (a full-bleed jacket), "type",
    "abstract", "plate" or "plain"."""
    if art.startswith("photo:"):
        return photo_cover(rng, size, art.removeprefix("photo:"), light)
    if art.startswith("bleed:"):
        return photo_cover(rng, size, art.removeprefix("bleed:"), light, band=False)
    if art in ("type", "abstract", "plate", "plain"):
        return designed_cover(rng, size, art, light)
    raise ValueError(f"unknown cover art {art!r}")


def spine_art(rng: Rng, size: tuple[int, int], light: bool, hardcover: bool) -> Image.Image:
    """A spine (width < height): ground colour, bands for a hardcover, title running up."""
    width, height = size
    ground = base_colour(rng, light)
    spine = Image.new("RGB", size, ground)
    draw = ImageDraw.Draw(spine)
    accent = ACCENTS[int(rng.integers(len(ACCENTS)))]
    if hardcover:
        for y in (height // 14, height - height // 14):
            draw.rectangle((0, y - height // 200, width, y + height // 200), fill=accent)
    title = Image.new("RGB", (int(height * 0.7), width), ground)
    draw_text_block(
        ImageDraw.Draw(title),
        (0, width // 6, title.width, width * 5 // 6),
        title_words(rng),
        ink_for(ground),
    )
    spine.paste(title.rotate(90, expand=True), (0, int(height * 0.12)))
    mark = max(width // 4, 2)
    draw.ellipse(
        (
            width // 2 - mark,
            height - height // 9 - mark,
            width // 2 + mark,
            height - height // 9 + mark,
        ),
        fill=accent,
    )
    return spine
