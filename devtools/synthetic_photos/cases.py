"""How a case is declared: its category, from one fixed list, and its seed, from its id."""

from __future__ import annotations

import zlib
from typing import Any

from devtools.synthetic_photos.scene import SceneSpec

LANDSCAPE, PORTRAIT, SQUARE = (1600, 1200), (1200, 1600), (1200, 1200)

# Plain photos of one book, as the first version of the set had them.
PLAIN_CATEGORIES = ("cover-light", "cover-dark", "spine", "stack", "borderline", "negative")
# Situations where a small saliency model is expected to lose the book, one table each in
# `catalog_hard`.
HARD_CATEGORIES = (
    "bookshelf",  # a book held or lying in front of a shelf full of other books
    "white-on-white",  # a white book on a white table
    "black-on-black",  # a black book on black cloth
    "glossy",  # specular highlights that nearly saturate on the cover
    "full-bleed",  # jacket art to every edge, on a surface of like colour or texture
    "open-book",  # two pages of text and the gutter between them
    "clutter",  # a pen, glasses or a hand beside the book or over it (never in the mask)
    "cast-shadow",  # hard, dark shadows beside the book (never in the mask)
    "motion-blur",  # camera shake; the mask is the footprint of the book before the blur
)
CATEGORIES = PLAIN_CATEGORIES + HARD_CATEGORIES


def plain_category(kind: str, design: str, expect_valid: bool) -> str:
    """The category a plain photo belongs to, read off what it shows."""
    if not expect_valid:
        return "negative"
    if design.startswith("borderline"):
        return "borderline"
    if kind == "cover":
        return "cover-light" if design == "light" else "cover-dark"
    return kind


def case(
    id: str,
    kind: str,
    size: tuple[int, int],
    backdrop: str,
    design: str,
    luma: float,
    *,
    category: str | None = None,
    **options: Any,
) -> SceneSpec:
    """One scene; its random seed is derived from its id, so reordering changes nothing.
    Without a `category` the case is a plain photo, categorised by what it shows."""
    if category is None:
        category = plain_category(kind, design, options.get("expect_valid", True))
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; known: {CATEGORIES}")
    return SceneSpec(
        id=id,
        kind=kind,
        size=size,
        backdrop=backdrop,
        category=category,
        design=design,
        target_luma=luma,
        seed=zlib.crc32(id.encode()),
        **options,
    )
