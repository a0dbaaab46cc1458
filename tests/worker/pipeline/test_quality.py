from __future__ import annotations

import pytest
from PIL import Image

from worker.pipeline import select_background_color, validate_image_quality
from worker.pipeline.quality import subject_box, subject_brightness


def test_seed_backdrop_cases() -> None:
    assert select_background_color(100) == "black"
    assert select_background_color(200) == "white"
    assert select_background_color(59) == "black"


def test_backdrop_threshold_is_white_at_and_above() -> None:
    assert select_background_color(150, threshold=150) == "white"
    assert select_background_color(149.99, threshold=150) == "black"


def test_seed_area_too_small_case() -> None:
    assert validate_image_quality(1000, 1000, 300, 300) == {
        "passed": False,
        "reason": "area_too_small",
    }


def test_a_book_filling_the_frame_passes() -> None:
    assert validate_image_quality(1200, 1600, 900, 1350) == {"passed": True, "reason": None}


def test_no_subject() -> None:
    assert validate_image_quality(640, 480, 0, 0)["reason"] == "no_subject"


@pytest.mark.parametrize(
    ("frame", "subject"),
    [((1000, 1000), (1000, 40)), ((600, 900), (600, 30)), ((1600, 1200), (1600, 60))],
)
def test_a_thin_strip_is_an_aspect_mismatch(frame, subject) -> None:
    verdict = validate_image_quality(*frame, *subject, min_area_ratio=0.01)
    assert verdict == {"passed": False, "reason": "aspect_mismatch"}


def test_aspect_rule_is_symmetric_for_portrait_and_landscape() -> None:
    portrait = validate_image_quality(600, 800, 300, 500, max_aspect_diff=0.3)
    landscape = validate_image_quality(800, 600, 500, 300, max_aspect_diff=0.3)
    assert portrait == landscape


def test_subject_box_ignores_stray_specks() -> None:
    mask = Image.new("L", (1000, 800), 0)
    mask.paste(255, (300, 200, 700, 600))
    mask.putpixel((5, 5), 255)  # one false-positive pixel in a corner
    assert subject_box(mask) == (300, 200, 700, 600)


def test_subject_box_of_an_empty_mask_is_none() -> None:
    assert subject_box(Image.new("L", (100, 100), 0)) is None


def test_subject_brightness_is_mean_luma_of_opaque_pixels() -> None:
    image = Image.new("RGB", (100, 100), (255, 255, 255))
    image.paste((59, 59, 59), (0, 0, 50, 100))
    mask = Image.new("L", (100, 100), 0)
    mask.paste(255, (0, 0, 50, 100))
    assert subject_brightness(image, mask) == pytest.approx(59, abs=0.01)
    assert select_background_color(subject_brightness(image, mask)) == "black"
