"""The synthetic book photos: deterministic, exact masks, honest manifest, enough variety."""

from __future__ import annotations

import io
import json
import socket
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devtools.synthetic_photos import Case, generate_set, load_manifest
from devtools.synthetic_photos.__main__ import main
from devtools.synthetic_photos.assets import COVER_PHOTOS, GREY_IMAGES, bundled_rgb
from devtools.synthetic_photos.cases import CATEGORIES, HARD_CATEGORIES, PLAIN_CATEGORIES
from devtools.synthetic_photos.cases import case as declare_case
from devtools.synthetic_photos.catalog import SETS, bench_set, demo_set, eval_set
from devtools.synthetic_photos.scene import SceneSpec, render

# Small cases that between them cover every kind, both colours and both negative reasons,
# and two hard ones: a prop over the book, and a shaking camera.
SMALL_IDS = (
    "cover-light-chelsea-cloth-800",
    "cover-dark-plate-black-paper",
    "spine-dark-cloth",
    "stack-dark-paper-square",
    "negative-empty-wood",
    "negative-tiny-cover",
    "clutter-pen-over-dark-cover",
    "shake-dark-cover-paper",
)
BBOX_TOLERANCE_PX = 2.5  # rasterising a polygon edge moves it by up to a pixel each side


def luma(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def read_mask(case: Case) -> np.ndarray:
    with Image.open(case.mask_path) as mask:
        assert mask.mode == "L"
        return np.asarray(mask)


def long_side(size: tuple[int, int]) -> int:
    return max(size)


def eval_spec(case_id: str) -> SceneSpec:
    return next(spec for spec in eval_set() if spec.id == case_id)


def photo_luma(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def as_bool(mask: Image.Image) -> np.ndarray:
    return np.asarray(mask) == 255


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    return generate_set("eval", out, only=SMALL_IDS, jobs=1)


# --- the catalog, without rendering -------------------------------------------------------


def test_eval_set_has_enough_valid_cases_and_both_negative_reasons() -> None:
    specs = eval_set()
    assert len({spec.id for spec in specs}) == len(specs)
    assert len({spec.seed for spec in specs}) == len(specs)
    assert sum(spec.expect_valid for spec in specs) >= 30
    reasons = Counter(spec.expected_reason for spec in specs if not spec.expect_valid)
    assert reasons["no_subject"] >= 1
    assert reasons["area_too_small"] >= 1
    assert all(spec.kind == "empty" for spec in specs if spec.expected_reason == "no_subject")


def test_eval_set_spans_sizes_kinds_backdrops_and_framing() -> None:
    specs = [spec for spec in eval_set() if spec.expect_valid]
    sides = [long_side(spec.size) for spec in specs]
    assert min(sides) <= 1024
    assert max(sides) == 5000
    assert sum(side >= 3000 for side in sides) >= 3
    kinds = Counter(spec.kind for spec in specs)
    assert kinds["cover"] >= 10
    assert kinds["spine"] >= 4
    assert kinds["stack"] >= 4
    backdrops = Counter(spec.backdrop.split("/")[0] for spec in specs)
    for backdrop in ("wood", "cloth", "paper", "concrete"):
        assert backdrops[backdrop] >= 4, backdrop
    assert sum(spec.keystone > 0 for spec in specs) >= 5
    assert sum(spec.rotation != 0 for spec in specs) >= 10
    assert sum(spec.centre != (0.5, 0.5) for spec in specs) >= 5
    assert {spec.hardcover for spec in specs if spec.kind == "cover"} == {True, False}
    assert len({spec.quality for spec in specs}) >= 4
    assert sum(spec.art.startswith("photo:") for spec in specs if spec.kind == "cover") >= 8


def test_designed_brightness_is_consistent_with_a_threshold_in_100_200() -> None:
    specs = [spec for spec in eval_set() if spec.kind != "empty"]
    dark = [spec.target_luma for spec in specs if spec.design in ("dark", "borderline-dark")]
    light = [spec.target_luma for spec in specs if spec.design in ("light", "borderline-light")]
    assert len(dark) >= 10
    assert len(light) >= 10
    assert max(dark) < min(light)
    assert all(spec.target_luma <= 80 for spec in specs if spec.design == "dark")
    assert all(spec.target_luma >= 175 for spec in specs if spec.design == "light")
    borderline = [spec for spec in specs if spec.design.startswith("borderline")]
    assert len(borderline) >= 4
    assert all(100 < spec.target_luma < 200 for spec in borderline)


def test_every_eval_case_has_a_known_category_and_each_hard_one_has_three() -> None:
    specs = eval_set()
    assert all(spec.category in CATEGORIES for spec in specs)
    counts = Counter(spec.category for spec in specs)
    for category in HARD_CATEGORIES:
        assert counts[category] >= 3, category
    for category in PLAIN_CATEGORIES:
        assert counts[category] >= 3, category
    # The plain photos keep the category their kind and design give them.
    for spec in specs:
        if not spec.expect_valid:
            assert spec.category == "negative", spec.id
        elif spec.design.startswith("borderline"):
            assert spec.category == "borderline", spec.id
    assert {spec.category for spec in specs if spec.kind == "open"} <= {"open-book", "clutter"}


def test_hard_categories_are_what_they_say() -> None:
    by_category: dict[str, list[SceneSpec]] = {}
    for spec in eval_set():
        by_category.setdefault(spec.category, []).append(spec)
    assert all("shelf" in f"{spec.backdrop} {spec.wall}" for spec in by_category["bookshelf"])
    assert all(spec.design == "light" for spec in by_category["white-on-white"])
    assert all(spec.design == "dark" for spec in by_category["black-on-black"])
    assert all(spec.gloss > 0 for spec in by_category["glossy"])
    assert all(spec.art.startswith("bleed:") for spec in by_category["full-bleed"])
    assert all(spec.kind == "open" for spec in by_category["open-book"])
    assert all(spec.props for spec in by_category["clutter"])
    assert all(spec.sun > 0 or spec.blinds > 0 for spec in by_category["cast-shadow"])
    assert all(spec.shake > 0 for spec in by_category["motion-blur"])
    props = {p for spec in by_category["clutter"] for p in spec.props}
    assert {"pen", "glasses", "hand:over"} <= props


def test_a_case_with_an_unknown_category_fails_loudly() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        declare_case("x", "cover", (800, 600), "wood/light", "light", 190, category="tricky")


@pytest.mark.parametrize(("specs", "count"), [(demo_set(), 6), (bench_set(), 12)])
def test_demo_and_bench_photos_are_one_to_two_megapixels(specs: list, count: int) -> None:
    assert len(specs) == count
    assert len({spec.id for spec in specs}) == count
    for spec in specs:
        assert 1.0e6 <= spec.size[0] * spec.size[1] <= 2.0e6, spec.id
        assert spec.expect_valid
        assert spec.category in PLAIN_CATEGORIES
    assert len({spec.kind for spec in specs}) == 3


def test_unknown_set_or_case_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown set"):
        generate_set("nope", tmp_path)
    with pytest.raises(ValueError, match="no case"):
        generate_set("eval", tmp_path, only=["not-a-case"])


def test_bundled_images_need_no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the generator tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for name in COVER_PHOTOS + GREY_IMAGES:
        assert bundled_rgb(name).size[0] > 100
    spec = next(spec for spec in eval_set() if spec.id == "cover-dark-plate-black-paper")
    assert render(spec).mask.getbbox() is not None


# --- a rendered subset --------------------------------------------------------------------


def test_manifest_describes_every_file(small_set: Path) -> None:
    cases = load_manifest(small_set)
    assert [case.id for case in cases] == list(SMALL_IDS)
    for case in cases:
        assert case.image_path.is_absolute()
        assert case.image_path.suffix == ".jpg"
        assert case.mask_path.name == f"{case.id}.mask.png"
        with Image.open(case.image_path) as photo:
            assert photo.format == "JPEG"
            assert photo.size == (case.width, case.height)
        assert read_mask(case).shape == (case.height, case.width)
        assert case.expected_background in ("black", "white", None)
        assert case.category == eval_spec(case.id).category


def test_masks_are_binary_and_sit_on_the_placed_book(small_set: Path) -> None:
    for case in load_manifest(small_set):
        mask = read_mask(case)
        assert set(np.unique(mask)) <= {0, 255}, case.id
        if case.kind == "empty":
            assert not mask.any()
            continue
        rows, columns = np.nonzero(mask)
        box = (columns.min(), rows.min(), columns.max() + 1, rows.max() + 1)
        assert case.subject_bbox == tuple(int(v) for v in box)
        assert case.outline_bbox is not None
        assert np.allclose(box, case.outline_bbox, atol=BBOX_TOLERANCE_PX), case.id


def test_subject_brightness_is_the_mean_luma_under_the_mask(small_set: Path) -> None:
    for case in load_manifest(small_set):
        if case.kind == "empty":
            assert case.subject_brightness is None
            continue
        recomputed = luma(case.image_path)[read_mask(case) == 255].mean()
        assert case.subject_brightness == pytest.approx(recomputed, abs=1e-3), case.id


def test_expected_background_follows_the_designed_brightness(small_set: Path) -> None:
    for case in load_manifest(small_set):
        if case.expected_background == "white":
            assert case.subject_brightness is not None
            assert case.subject_brightness >= 150
        elif case.expected_background == "black":
            assert case.subject_brightness is not None
            assert case.subject_brightness <= 125


def test_negative_cases_are_flagged_with_their_reason(small_set: Path) -> None:
    cases = {case.id: case for case in load_manifest(small_set)}
    empty, tiny = cases["negative-empty-wood"], cases["negative-tiny-cover"]
    assert (empty.expect_valid, empty.expected_reason) == (False, "no_subject")
    assert empty.subject_bbox is None
    assert empty.expected_background is None
    assert (tiny.expect_valid, tiny.expected_reason) == (False, "area_too_small")
    assert tiny.subject_bbox is not None
    left, top, right, bottom = tiny.subject_bbox
    assert 0.015 < (right - left) * (bottom - top) / (tiny.width * tiny.height) < 0.045
    assert all(case.expect_valid for case in cases.values() if not case.id.startswith("neg"))


def test_two_runs_are_byte_identical(small_set: Path, tmp_path: Path) -> None:
    again = generate_set("eval", tmp_path, only=SMALL_IDS, jobs=2)  # and the pool changes nothing
    first = sorted(path.name for path in small_set.parent.iterdir())
    assert first == sorted(path.name for path in again.parent.iterdir())
    for name in first:
        assert (small_set.parent / name).read_bytes() == (again.parent / name).read_bytes(), name


def test_a_current_set_is_not_rewritten_and_a_damaged_one_is(tmp_path: Path) -> None:
    only = ["cover-dark-plate-black-paper"]
    manifest = generate_set("eval", tmp_path, only=only, jobs=1)
    files = sorted(manifest.parent.iterdir())
    stamps = [path.stat().st_mtime_ns for path in files]
    assert generate_set("eval", tmp_path, only=only) == manifest
    assert [path.stat().st_mtime_ns for path in files] == stamps

    case = load_manifest(manifest)[0]
    original = case.mask_path.read_bytes()
    case.mask_path.write_bytes(b"damaged")
    generate_set("eval", tmp_path, only=only, jobs=1)
    assert case.mask_path.read_bytes() == original

    generate_set("eval", tmp_path, only=only, jobs=1, force=True)
    assert manifest.stat().st_mtime_ns > stamps[files.index(manifest)]


def test_command_line_writes_the_set_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path), "--only", "spine-dark-cloth"]) == 0
    assert "eval: 1 photos (1 spine)" in capsys.readouterr().out
    data = json.loads((tmp_path / "eval" / "manifest.json").read_text())
    assert data["set"] == "eval"
    assert data["cases"][0]["kind"] == "spine"
    assert (tmp_path / "eval" / "spine-dark-cloth.jpg").is_file()


# --- the hard cases' ground truth ---------------------------------------------------------
# Each renders a hard case and the same case without what makes it hard (same seed, so the
# same book in the same place) and checks that the mask changed exactly as it should.


def test_props_over_the_book_are_cut_out_of_the_mask() -> None:
    spec = eval_spec("clutter-hand-on-cover")
    with_hand, without = render(spec), render(replace(spec, props=()))
    hand_mask, book_mask = as_bool(with_hand.mask), as_bool(without.mask)
    assert not (hand_mask & ~book_mask).any()  # the hand adds nothing to the mask
    cut = book_mask & ~hand_mask
    assert cut.sum() > 0.01 * book_mask.sum()  # and it does cover part of the book
    # Where the hand lies, the photo shows the hand, not the book.
    changed = np.abs(photo_luma(with_hand.jpeg) - photo_luma(without.jpeg)) > 25
    assert changed[cut].mean() > 0.5
    # Outside the book it is drawn too (the arm), and none of that is in the mask.
    assert (changed & ~book_mask).sum() > cut.sum()


def test_props_beside_the_book_stay_out_of_the_mask() -> None:
    spec = eval_spec("clutter-glasses-and-pen")
    with_props, without = render(spec), render(replace(spec, props=()))
    mask = as_bool(with_props.mask)
    assert (mask == as_bool(without.mask)).all()
    changed = np.abs(photo_luma(with_props.jpeg) - photo_luma(without.jpeg)) > 40
    assert changed.sum() > 0.002 * mask.size  # a pen and glasses are in the photo...
    assert not (changed & mask).any()  # ...and not in the mask


def test_a_sun_shadow_is_darker_yet_unmasked() -> None:
    spec = eval_spec("shadow-sun-dark-cover")
    sunny, overcast = render(spec), render(replace(spec, sun=0.0))
    mask = as_bool(sunny.mask)
    assert (mask == as_bool(overcast.mask)).all()
    darker = photo_luma(sunny.jpeg) < photo_luma(overcast.jpeg) - 40
    assert darker.sum() > 0.2 * mask.sum()  # a shadow a fifth the book's size or more
    assert (darker & mask).sum() < 0.001 * darker.sum()  # beside the book, not on it


def test_an_open_book_is_masked_across_both_pages_and_the_gutter() -> None:
    spec = replace(eval_spec("open-hardcover-wood"), rotation=0.0)  # square to the frame
    rendered = render(spec)
    mask = as_bool(rendered.mask)
    assert rendered.outline_bbox is not None
    left, top, right, bottom = (round(v) for v in rendered.outline_bbox)
    inside = mask[top:bottom, left:right]
    assert inside.mean() > 0.95  # the spread fills its box but for the pages' curve
    middle = (right - left) // 2
    halves = inside[:, :middle].sum(), inside[:, middle:].sum()
    assert 0.9 < halves[0] / halves[1] < 1.1  # both pages
    # The gutter is the darkest column across the middle of the spread, and it is masked.
    luma = photo_luma(rendered.jpeg)[top:bottom, left:right]
    band = slice(middle - (right - left) // 10, middle + (right - left) // 10)
    gutter = middle - (right - left) // 10 + int(np.argmin(luma[:, band].mean(axis=0)))
    assert abs(gutter - middle) < (right - left) * 0.05
    assert inside[(bottom - top) // 4 : -(bottom - top) // 4, gutter].all()


def test_a_bookshelf_behind_the_book_is_background() -> None:
    spec = eval_spec("shelf-standing-coffee")
    shelf, wall = render(spec), render(replace(spec, wall="paper/light"))
    mask = as_bool(shelf.mask)
    assert (mask == as_bool(wall.mask)).all()  # the same book, the shelf adds nothing
    assert spec.horizon is not None
    above = slice(0, int(spec.horizon * spec.size[1]))

    def edges(jpeg: bytes) -> float:  # the spines' sides, across the wall beside the book
        across = np.abs(np.diff(photo_luma(jpeg)[above], axis=1))
        return float(across[~mask[above, 1:]].mean())

    assert edges(shelf.jpeg) > 3 * edges(wall.jpeg)


def test_gloss_brightens_only_the_book() -> None:
    spec = eval_spec("glossy-abstract-dark-wood")
    glossy, matte = render(spec), render(replace(spec, gloss=0.0))
    mask = as_bool(glossy.mask)
    assert (mask == as_bool(matte.mask)).all()
    glossy_luma, matte_luma = photo_luma(glossy.jpeg), photo_luma(matte.jpeg)
    highlight = (glossy_luma > 200) & (glossy_luma > matte_luma + 60)
    assert highlight.sum() > 0.02 * mask.sum()  # near-white streaks on a dark cover
    assert not (highlight & ~mask).any()


def test_motion_blur_keeps_the_sharp_footprint_as_ground_truth() -> None:
    spec = eval_spec("shake-astronaut-wood")
    shaken, steady = render(spec), render(replace(spec, shake=0.0))
    assert (as_bool(shaken.mask) == as_bool(steady.mask)).all()
    assert shaken.jpeg != steady.jpeg

    def detail(jpeg: bytes) -> float:
        return float(np.abs(np.diff(photo_luma(jpeg), axis=1)).mean())

    assert detail(shaken.jpeg) < 0.7 * detail(steady.jpeg)


def test_same_colour_books_are_close_to_their_table() -> None:
    for case_id, designed in (("white-plain-paper", "light"), ("black-plain-cloth", "dark")):
        rendered = render(eval_spec(case_id))
        mask = as_bool(rendered.mask)
        luma = photo_luma(rendered.jpeg)
        assert rendered.outline_bbox is not None
        left, top, right, bottom = (round(v) for v in rendered.outline_bbox)
        margin = (right - left) // 4
        around = np.zeros_like(mask)
        around[max(top - margin, 0) : bottom + margin, max(left - margin, 0) : right + margin] = 1
        table = luma[around & ~mask].mean()
        assert abs(luma[mask].mean() - table) < 35, case_id
        assert (luma[mask].mean() > 150) == (designed == "light"), case_id


# --- the whole evaluation set -------------------------------------------------------------


@pytest.mark.slow
def test_whole_eval_set(tmp_path: Path) -> None:
    """Every case: binary aligned mask, honest brightness, colours separable by a threshold
    in (100, 200]."""
    cases = load_manifest(generate_set("eval", tmp_path))
    specs = {spec.id: spec for spec in SETS["eval"]()}
    assert len(cases) == len(specs)
    by_colour: dict[str, list[float]] = {"black": [], "white": []}
    for case in cases:
        mask = read_mask(case)
        assert set(np.unique(mask)) <= {0, 255}, case.id
        if case.kind == "empty":
            assert not mask.any()
            continue
        assert case.outline_bbox is not None
        assert case.subject_bbox is not None
        if specs[case.id].props:  # a prop over an edge can only make the visible box smaller
            left, top, right, bottom = case.outline_bbox
            assert case.subject_bbox[0] >= left - BBOX_TOLERANCE_PX, case.id
            assert case.subject_bbox[1] >= top - BBOX_TOLERANCE_PX, case.id
            assert case.subject_bbox[2] <= right + BBOX_TOLERANCE_PX, case.id
            assert case.subject_bbox[3] <= bottom + BBOX_TOLERANCE_PX, case.id
        else:
            assert np.allclose(case.subject_bbox, case.outline_bbox, atol=BBOX_TOLERANCE_PX)
        assert case.category == specs[case.id].category
        recomputed = luma(case.image_path)[mask == 255].mean()
        assert case.subject_brightness == pytest.approx(recomputed, abs=1e-3), case.id
        assert case.expected_background is not None
        assert case.subject_brightness is not None
        by_colour[case.expected_background].append(case.subject_brightness)
    darkest_white, brightest_black = min(by_colour["white"]), max(by_colour["black"])
    # Some threshold t in (100, 200] sends every case to its expected colour.
    assert brightest_black < darkest_white
    assert brightest_black < 200
    assert darkest_white > 100
