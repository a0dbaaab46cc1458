"""The hard cases of the evaluation set: a table per category of `cases.HARD_CATEGORIES`,
each a situation in which a small saliency model loses the book and a user would see it.

What the ground truth is in each, where it could be argued:
- bookshelf: only the book in front; the books on the shelf behind it are background.
- clutter: a pen, the frames of glasses and a hand are never the book, even where they lie
  over it; the book seen through a clear lens still is.
- cast-shadow: the shadows on the table are not the book; the book in shadow still is.
- motion-blur: the book's footprint before the blur, which is where the blurred book is
  half visible (the 50 % line of a straight edge smeared by a box blur is the edge itself).
"""

from __future__ import annotations

from devtools.synthetic_photos.cases import LANDSCAPE, PORTRAIT, case
from devtools.synthetic_photos.scene import SceneSpec

LARGE, LARGE_PORTRAIT = (2000, 1500), (1500, 2000)


def hard_cases() -> list[SceneSpec]:
    return [
        *_bookshelf(),
        *_same_colour(),
        *_glossy_and_full_bleed(),
        *_open_books(),
        *_clutter(),
        *_shadows_and_shake(),
    ]


def _bookshelf() -> list[SceneSpec]:
    """A book held up or standing in front of a shelf full of books."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("shelf-held-astronaut", "cover", PORTRAIT, "shelf/mixed", "light", 185,
             category="bookshelf", art="photo:astronaut", fill=0.74, rotation=-4,
             keystone=0.05, shadow=0.2, props=("hand:over",)),
        case("shelf-held-dark-type", "cover", LARGE_PORTRAIT, "shelf/dark", "dark", 52,
             category="bookshelf", art="type", fill=0.7, centre=(0.47, 0.5), rotation=6,
             shadow=0.2, props=("hand:over",)),
        case("shelf-standing-coffee", "cover", LANDSCAPE, "wood/dark", "light", 182,
             category="bookshelf", art="photo:coffee", wall="shelf/mixed", horizon=0.8,
             fill=0.74, centre=(0.45, 0.48), shadow=0.3),
        case("shelf-spine-in-front", "spine", PORTRAIT, "wood/light", "dark", 55,
             category="bookshelf", wall="shelf/mixed", horizon=0.84, fill=0.8,
             centre=(0.52, 0.52)),
        case("shelf-lying-plate", "cover", LARGE, "wood/light", "light", 190,
             category="bookshelf", art="plate", wall="shelf/light", horizon=0.28,
             keystone=0.25, centre=(0.5, 0.6), fill=0.8),
    ]
    # fmt: on


def _same_colour() -> list[SceneSpec]:
    """White books on white tables, black books on black cloth, lit softly."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("white-plain-paper", "cover", LANDSCAPE, "paper/white", "light", 218,
             category="white-on-white", art="plain", rotation=7, shadow=0.2),
        case("white-hardcover-white-wood", "cover", (1800, 1350), "wood/white", "light", 214,
             category="white-on-white", art="plain", hardcover=True, keystone=0.1,
             shadow=0.25),
        case("white-plain-linen", "cover", PORTRAIT, "cloth/white", "light", 220,
             category="white-on-white", art="plain", rotation=-12, shadow=0.18),
        case("white-stack-paper", "stack", LARGE, "paper/white", "light", 212,
             category="white-on-white", fill=0.74, shadow=0.25),
        case("black-plain-cloth", "cover", LANDSCAPE, "cloth/black", "dark", 34,
             category="black-on-black", art="plain", rotation=5, shadow=0.3, noise=3.5),
        case("black-hardcover-cloth", "cover", PORTRAIT, "cloth/black", "dark", 40,
             category="black-on-black", art="plain", hardcover=True, rotation=-8, noise=3.5),
        case("black-stack-wood", "stack", (1800, 1350), "wood/black", "dark", 36,
             category="black-on-black", fill=0.74, noise=3.0),
        case("black-spine-cloth", "spine", LARGE_PORTRAIT, "cloth/black", "dark", 38,
             category="black-on-black", wall="paper/dark", fill=0.78, noise=3.5),
    ]
    # fmt: on


def _glossy_and_full_bleed() -> list[SceneSpec]:
    """Glossy covers with bright reflections; jackets whose photo runs to every edge, on a
    surface of much the same colour or texture."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("glossy-abstract-dark-wood", "cover", LANDSCAPE, "wood/dark", "dark", 58,
             category="glossy", art="abstract", rotation=-5, gloss=0.95),
        case("glossy-astronaut-concrete", "cover", (1800, 1350), "concrete/light", "light", 180,
             category="glossy", art="photo:astronaut", rotation=9, gloss=0.9, keystone=0.1),
        case("glossy-hubble-cloth", "cover", PORTRAIT, "cloth/dark", "dark", 45,
             category="glossy", art="photo:hubble_deep_field", hardcover=True, gloss=1.0),
        case("glossy-type-paper", "cover", LARGE, "paper/light", "light", 186,
             category="glossy", art="type", rotation=14, gloss=0.9),
        case("glossy-rocket-light-wood", "cover", PORTRAIT, "wood/light", "dark", 50,
             category="glossy", art="photo:rocket", hardcover=True, gloss=1.0),
        case("bleed-gravel-concrete", "cover", LANDSCAPE, "concrete/light", "light", 178,
             category="full-bleed", art="bleed:gravel", rotation=4),
        case("bleed-chelsea-dark-wood", "cover", PORTRAIT, "wood/dark", "dark", 72,
             category="full-bleed", art="bleed:chelsea", rotation=-7, hardcover=True),
        case("bleed-hubble-black-cloth", "cover", LARGE, "cloth/black", "dark", 32,
             category="full-bleed", art="bleed:hubble_deep_field", rotation=11),
        case("bleed-coffee-kraft", "cover", (1800, 1350), "paper/kraft", "light", 176,
             category="full-bleed", art="bleed:coffee", keystone=0.12),
        case("bleed-astronaut-white-desk", "cover", LANDSCAPE, "paper/white", "light", 200,
             category="full-bleed", art="bleed:astronaut", rotation=5),
    ]
    # fmt: on


def _open_books() -> list[SceneSpec]:
    """Open books lying on their backs, text on both pages. `fill` is the spread's width."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("open-hardcover-wood", "open", LANDSCAPE, "wood/dark", "light", 200,
             category="open-book", hardcover=True, fill=1.1, rotation=3),
        case("open-paperback-white-desk", "open", LARGE, "paper/white", "light", 205,
             category="open-book", fill=1.05, rotation=-4, keystone=0.12, shadow=0.3),
        case("open-cloth-upright", "open", LARGE_PORTRAIT, "cloth/light", "light", 196,
             category="open-book", fill=0.95, rotation=90),
        case("open-concrete-steep", "open", LANDSCAPE, "concrete/light", "light", 192,
             category="open-book", hardcover=True, fill=1.05, keystone=0.22),
    ]
    # fmt: on


def _clutter() -> list[SceneSpec]:
    """Pens, glasses and hands beside a book or over it."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("clutter-pen-over-dark-cover", "cover", LANDSCAPE, "wood/light", "dark", 55,
             category="clutter", art="type", rotation=-6, props=("pen:over",)),
        case("clutter-glasses-and-pen", "cover", (1800, 1350), "cloth/light", "light", 186,
             category="clutter", art="photo:rocket", rotation=8, fill=0.66,
             props=("glasses", "pen")),
        case("clutter-hand-on-cover", "cover", PORTRAIT, "wood/dark", "light", 188,
             category="clutter", art="photo:coffee", fill=0.68, props=("hand:over",)),
        case("clutter-hand-and-glasses-stack", "stack", LARGE, "concrete/light", "dark", 62,
             category="clutter", fill=0.68, props=("glasses:over", "hand:over")),
        case("clutter-reading-open-book", "open", LANDSCAPE, "wood/light", "light", 198,
             category="clutter", hardcover=True, fill=1.0, props=("hand:over", "pen")),
    ]
    # fmt: on


def _shadows_and_shake() -> list[SceneSpec]:
    """Hard shadows in low sun and through blinds; photos taken with a shaking hand."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("shadow-sun-dark-cover", "cover", LANDSCAPE, "wood/light", "dark", 60,
             category="cast-shadow", art="type", sun=0.72, sun_length=0.35, shadow=0.2),
        case("shadow-sun-hardcover-paper", "cover", LARGE, "paper/light", "light", 185,
             category="cast-shadow", art="photo:chelsea", hardcover=True, rotation=-10,
             sun=0.7, sun_length=0.45, shadow=0.2),
        case("shadow-blinds-cover", "cover", PORTRAIT, "wood/light", "light", 210,
             category="cast-shadow", art="plate", rotation=5, sun=0.6, sun_length=0.3,
             blinds=0.4),
        case("shadow-sun-stack", "stack", LANDSCAPE, "concrete/light", "dark", 65,
             category="cast-shadow", fill=0.85, sun=0.7, sun_length=0.5, shadow=0.2),
        case("shake-astronaut-wood", "cover", LANDSCAPE, "wood/dark", "light", 186,
             category="motion-blur", art="photo:astronaut", rotation=4, shake=0.025,
             shake_angle=10),
        case("shake-spine-brick", "spine", PORTRAIT, "wood/light", "dark", 50,
             category="motion-blur", wall="brick/light", fill=0.76, shake=0.03, shake_angle=80),
        case("shake-stack-dim-cloth", "stack", (1800, 1350), "cloth/dark", "light", 188,
             category="motion-blur", fill=0.72, shake=0.02, shake_angle=-35, noise=4.0),
        case("shake-dark-cover-paper", "cover", LARGE_PORTRAIT, "paper/light", "dark", 48,
             category="motion-blur", art="type", rotation=-9, shake=0.035, shake_angle=150,
             quality=80),
    ]
    # fmt: on
