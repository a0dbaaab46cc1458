"""The synthetic book photos: deterministic, exact masks, honest manifest, enough variety."""

from __future__ import annotations

import json
import socket
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devtools.synthetic_photos import Case, generate_set, load_manifest
from devtools.synthetic_photos.__main__ import main
from devtools.synthetic_photos.assets import COVER_PHOTOS, GREY_IMAGES, bundled_rgb
from devtools.synthetic_photos.catalog import SETS, bench_set, demo_set, eval_set
from devtools.synthetic_photos.scene import render

# Small cases that between them cover every kind, both colours and both negative reasons.
SMALL_IDS = (
    "cover-light-chelsea-cloth-800",
    "cover-dark-plate-black-paper",
    "spine-dark-cloth",
    "stack-dark-paper-square",
    "negative-empty-wood",
    "negative-tiny-cover",
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


@pytest.mark.parametrize(("specs", "count"), [(demo_set(), 6), (bench_set(), 12)])
def test_demo_and_bench_photos_are_one_to_two_megapixels(specs: list, count: int) -> None:
    assert len(specs) == count
    assert len({spec.id for spec in specs}) == count
    for spec in specs:
        assert 1.0e6 <= spec.size[0] * spec.size[1] <= 2.0e6, spec.id
        assert spec.expect_valid
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


# --- the whole evaluation set -------------------------------------------------------------


@pytest.mark.slow
def test_whole_eval_set(tmp_path: Path) -> None:
    """Every case: binary aligned mask, honest brightness, colours separable by a threshold
    in (100, 200]."""
    cases = load_manifest(generate_set("eval", tmp_path))
    assert len(cases) == len(SETS["eval"]())
    by_colour: dict[str, list[float]] = {"black": [], "white": []}
    for case in cases:
        mask = read_mask(case)
        assert set(np.unique(mask)) <= {0, 255}, case.id
        if case.kind == "empty":
            assert not mask.any()
            continue
        assert case.outline_bbox is not None
        assert case.subject_bbox is not None
        assert np.allclose(case.subject_bbox, case.outline_bbox, atol=BBOX_TOLERANCE_PX), case.id
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
