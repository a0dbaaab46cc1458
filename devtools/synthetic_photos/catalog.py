"""The sets, case by case. Every photo is decided here; `scene.render` only carries it out.

Design intent for the backdrop rule (black below the threshold, white at or above it, with
the seed's fixed points 100 -> black and 200 -> white, so the threshold lies in (100, 200]):
light books are toned to a luma of about 175-210 and expect white, dark books to about 40-80
and expect black, and the borderline ones sit at 110-125 (black) and 158-172 (white), so any
threshold in roughly (125, 158] is consistent with every case. The hard cases (`catalog_hard`)
reach further (white books at 220, black ones at 32) and measure inside the same gap: gloss
lifts a dark cover to about 100, the shadow of blinds takes a light one down to about 160.
"""

from __future__ import annotations

from collections.abc import Callable

from devtools.synthetic_photos.cases import LANDSCAPE, PORTRAIT, SQUARE, case
from devtools.synthetic_photos.catalog_hard import hard_cases
from devtools.synthetic_photos.scene import SceneSpec


def eval_set() -> list[SceneSpec]:
    """The evaluation set, in groups of a kind, each group a table of its own: 40 plain photos
    of one book (categorised by what they show, see `cases.plain_category`), then the hard
    cases, a table per category (`catalog_hard`)."""
    return [
        *_light_covers(),
        *_dark_covers(),
        *_spines_and_stacks(),
        *_borderline_and_negatives(),
        *hard_cases(),
    ]


def _light_covers() -> list[SceneSpec]:
    """Covers lying flat, light (expect white)."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("cover-light-astronaut-wood", "cover", LANDSCAPE, "wood/dark", "light", 192,
             art="photo:astronaut", rotation=6, keystone=0.1),
        case("cover-light-type-cloth", "cover", PORTRAIT, "cloth/dark", "light", 205, art="type",
             rotation=-4),
        case("cover-light-plate-concrete", "cover", (2000, 1500), "concrete/dark", "light", 196,
             art="plate", hardcover=True, quality=82),
        case("cover-light-coffee-paper", "cover", (1024, 768), "paper/light", "light", 182,
             art="photo:coffee", rotation=12, quality=75),
        case("cover-light-abstract-wood", "cover", (3000, 2000), "wood/light", "light", 188,
             art="abstract", keystone=0.18),
        case("cover-light-rocket-concrete-5000", "cover", (5000, 3750), "concrete/light", "light",
             180, art="photo:rocket", rotation=-8, blur=1.0, noise=3.0),
        case("cover-light-chelsea-cloth-800", "cover", (800, 600), "cloth/red", "light", 178,
             art="photo:chelsea", fill=0.75, centre=(0.4, 0.46), quality=70),
        case("cover-light-type-kraft", "cover", (1500, 2000), "paper/kraft", "light", 208,
             art="type", hardcover=True, keystone=0.15, keystone_edge=2),
        case("cover-light-plate-wood-5000", "cover", (3750, 5000), "wood/dark", "light", 200,
             art="plate", hardcover=True, rotation=3, blur=1.2, quality=92),
        case("cover-light-small-offcentre", "cover", (2000, 1500), "wood/light", "light", 190,
             art="photo:astronaut", fill=0.42, centre=(0.3, 0.32), rotation=-14),
        case("cover-light-rocket-steep", "cover", LANDSCAPE, "wood/dark", "light", 186,
             art="photo:rocket", rotation=-3, keystone=0.3),
    ]
    # fmt: on


def _dark_covers() -> list[SceneSpec]:
    """Covers lying flat, dark (expect black)."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("cover-dark-type-paper", "cover", LANDSCAPE, "paper/light", "dark", 45, art="type",
             rotation=3),
        case("cover-dark-hubble-wood", "cover", (2048, 1536), "wood/light", "dark", 40,
             art="photo:hubble_deep_field", hardcover=True, keystone=0.12, keystone_edge=1),
        case("cover-dark-abstract-concrete", "cover", SQUARE, "concrete/light", "dark", 60,
             art="abstract", rotation=25),
        case("cover-dark-retina-cloth", "cover", LANDSCAPE, "cloth/light", "dark", 55,
             art="photo:retina", fill=0.62, centre=(0.6, 0.44)),
        case("cover-dark-type-on-dark-cloth", "cover", PORTRAIT, "cloth/dark", "dark", 50,
             art="type", rotation=-10),
        case("cover-dark-astronaut-wood-4000", "cover", (4000, 3000), "wood/dark", "dark", 72,
             art="photo:astronaut", keystone=0.2, keystone_edge=3, noise=3.5),
        case("cover-dark-plate-black-paper", "cover", (1000, 750), "paper/dark", "dark", 76,
             art="plate", quality=72),
        case("cover-dark-coffee-concrete", "cover", (2400, 3200), "concrete/dark", "dark", 66,
             art="photo:coffee", hardcover=True, rotation=15),
        case("cover-dark-filling-frame", "cover", PORTRAIT, "cloth/light", "dark", 42,
             art="abstract", fill=0.9, rotation=2),
    ]
    # fmt: on


def _spines_and_stacks() -> list[SceneSpec]:
    """Books standing, spine to the camera (thin, tall subjects), and stacks of books."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("spine-light-paper-wall", "spine", PORTRAIT, "wood/dark", "light", 186, fill=0.72,
             centre=(0.5, 0.54), wall="paper/light"),
        case("spine-dark-brick-wall", "spine", LANDSCAPE, "wood/light", "dark", 46, hardcover=True,
             fill=0.8, centre=(0.45, 0.52), wall="brick/light"),
        case("spine-light-concrete", "spine", (2000, 1500), "concrete/dark", "light", 192,
             fill=0.78, centre=(0.55, 0.5), rotation=-2, wall="concrete/light"),
        case("spine-dark-cloth", "spine", (900, 1200), "cloth/light", "dark", 55, hardcover=True,
             wall="paper/light", quality=78),
        case("spine-light-red-brick-4000", "spine", (3000, 4000), "wood/light", "light", 200,
             fill=0.75, centre=(0.42, 0.55), keystone=0.06, keystone_edge=2, wall="brick/red"),
        case("spine-dark-lying", "spine", LANDSCAPE, "concrete/light", "dark", 60, fill=0.8,
             rotation=90),
        # Stacks of books, spines to the camera.
        case("stack-dark-wood", "stack", LANDSCAPE, "wood/light", "dark", 60, fill=0.72),
        case("stack-light-cloth", "stack", (2000, 1500), "cloth/dark", "light", 190, rotation=-3),
        case("stack-light-brick-wall", "stack", (1920, 1080), "concrete/light", "light", 180,
             fill=0.75, centre=(0.5, 0.55), wall="brick/light"),
        case("stack-dark-paper-square", "stack", (1080, 1080), "paper/light", "dark", 70,
             rotation=4),
    ]
    # fmt: on


def _borderline_and_negatives() -> list[SceneSpec]:
    """Borderline books, close to the threshold on purpose, and negative cases."""
    # A table reads better as written, a case to a line or two.
    # fmt: off
    return [
        case("border-dark-type-wood", "cover", LANDSCAPE, "wood/light", "borderline-dark", 112,
             art="type", rotation=-6),
        case("border-dark-chelsea-cloth", "cover", PORTRAIT, "cloth/light", "borderline-dark", 122,
             art="photo:chelsea", keystone=0.1),
        case("border-dark-stack-concrete", "stack", LANDSCAPE, "concrete/light", "borderline-dark",
             118, fill=0.72),
        case("border-light-abstract-concrete", "cover", (2000, 1500), "concrete/dark",
             "borderline-light", 166, art="abstract", rotation=9),
        case("border-light-spine-paper-wall", "spine", PORTRAIT, "wood/dark", "borderline-light",
             170, wall="paper/light"),
        case("border-light-astronaut-kraft", "cover", (1280, 960), "paper/kraft",
             "borderline-light", 160, art="photo:astronaut", rotation=-18),
        # Negative cases: validation must reject these.
        case("negative-empty-wood", "empty", LANDSCAPE, "wood/light", "none", 0,
             expect_valid=False, expected_reason="no_subject"),
        case("negative-empty-concrete", "empty", (2000, 1500), "concrete/dark", "none", 0,
             expect_valid=False, expected_reason="no_subject"),
        case("negative-tiny-cover", "cover", LANDSCAPE, "paper/light", "dark", 50, art="type",
             fill=0.23, centre=(0.62, 0.4), expect_valid=False, expected_reason="area_too_small"),
        case("negative-tiny-stack", "stack", (2000, 1500), "wood/dark", "light", 190, fill=0.3,
             centre=(0.35, 0.6), expect_valid=False, expected_reason="area_too_small"),
    ]
    # fmt: on


def demo_set() -> list[SceneSpec]:
    """Six varied photos of 1-2 MP for `make demo`."""
    # fmt: off
    return [
        case("demo-01-cover-astronaut", "cover", LANDSCAPE, "wood/dark", "light", 190,
             art="photo:astronaut", rotation=5, keystone=0.08),
        case("demo-02-cover-dark", "cover", PORTRAIT, "paper/light", "dark", 48,
             art="type", rotation=-7),
        case("demo-03-spine", "spine", (1080, 1440), "wood/dark", "light", 188,
             wall="brick/light", fill=0.74, centre=(0.5, 0.53)),
        case("demo-04-stack", "stack", (1440, 1080), "concrete/light", "dark", 62,
             fill=0.72),
        case("demo-05-coffee-perspective", "cover", (1280, 960), "cloth/light", "dark", 70,
             art="photo:coffee", keystone=0.2, keystone_edge=0),
        case("demo-06-plate-hardcover", "cover", SQUARE, "cloth/dark", "light", 198,
             art="plate", hardcover=True, rotation=11),
    ]
    # fmt: on


BENCH_SIZES = ((1600, 1200), (1200, 1600), (1440, 1080), (1280, 960), (1080, 1440), (1400, 1050))
BENCH_SCENES = (
    ("cover", "wood/dark", "light", "photo:astronaut"),
    ("cover", "paper/light", "dark", "type"),
    ("spine", "wood/light", "dark", "type"),
    ("stack", "cloth/dark", "light", "type"),
    ("cover", "concrete/light", "dark", "photo:hubble_deep_field"),
    ("cover", "cloth/red", "light", "photo:coffee"),
)


def bench_set() -> list[SceneSpec]:
    """Twelve photos of 1-2 MP for the speed benchmark."""
    specs = []
    for index in range(12):
        kind, backdrop, design, art = BENCH_SCENES[index % len(BENCH_SCENES)]
        specs.append(
            case(
                f"bench-{index + 1:02d}-{kind}",
                kind,
                BENCH_SIZES[index % len(BENCH_SIZES)],
                backdrop,
                design,
                190 if design == "light" else 55,
                art=art,
                rotation=(index * 7) % 21 - 10,
                keystone=0.04 * (index % 4),
                keystone_edge=index % 4,
                fill=0.72 if kind != "cover" else 0.7,
                wall="paper/light" if kind == "spine" else None,
            )
        )
    return specs


SETS: dict[str, Callable[[], list[SceneSpec]]] = {
    "eval": eval_set,
    "demo": demo_set,
    "bench": bench_set,
}
