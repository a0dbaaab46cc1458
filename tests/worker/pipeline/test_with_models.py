"""The bad-input corpus and the chain through the real u2net/u2netp models."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.settings import Settings
from tests.corpus import Case, bad_inputs
from worker.pipeline import PipelineConfig, PipelineError, process_image_bytes
from worker.pipeline.quality import select_background_color

pytestmark = pytest.mark.model
CONFIG = PipelineConfig.from_settings(Settings())


@pytest.mark.parametrize("case", bad_inputs(), ids=lambda case: case.name)
def test_bad_input_with_the_real_chain(case: Case, onnx_models) -> None:
    chain = [onnx_models[name] for name in Settings().model_chain]
    if case.status == "failed":
        with pytest.raises(PipelineError) as caught:
            process_image_bytes(case.data, models=chain, config=CONFIG)
        assert caught.value.reason == case.reason
        return
    result = process_image_bytes(case.data, models=chain, config=CONFIG)
    # Whichever model the cascade settled on, its mask passed, and `escalated` says whether
    # the chain went past its first model.
    assert result.model in [attempt.model for attempt in result.attempts if attempt.passed]
    assert result.escalated == (len(result.attempts) > 1)
    assert result.size == case.size
    assert Image.open(io.BytesIO(result.png)).size == case.size
    assert result.background == select_background_color(result.brightness)


def test_book_is_found_where_it_lies(onnx_models) -> None:
    (case,) = [case for case in bad_inputs() if case.name == "plain_jpeg"]
    result = process_image_bytes(case.data, models=[onnx_models["u2net"]], config=CONFIG)
    left, top, right, bottom = result.attempts[0].subject_box
    # The cover (with its dark rim and page edge) spans x 204..440, y 69..411 of 640x480.
    assert abs(left - 204) <= 12
    assert abs(right - 440) <= 12
    assert abs(top - 69) <= 12
    assert abs(bottom - 411) <= 12


def test_backdrop_corners_are_solid(onnx_models) -> None:
    (case,) = [case for case in bad_inputs() if case.name == "plain_jpeg"]
    result = process_image_bytes(case.data, models=[onnx_models["u2net"]], config=CONFIG)
    output = Image.open(io.BytesIO(result.png))
    expected = (0, 0, 0) if result.background == "black" else (255, 255, 255)
    for corner in [(0, 0), (639, 0), (0, 479), (639, 479)]:
        assert output.getpixel(corner) == expected


def test_blank_photo_has_no_subject_for_either_model(onnx_models) -> None:
    """rembg's min-max stretch would turn u2net's faint output on a blank frame into a subject."""
    blank = Image.new("RGB", (640, 480), (228, 228, 228))
    for model in onnx_models.values():
        assert model.predict_mask(blank).getextrema() == (0, 0)
