"""Every kind of awkward file ends processed or failed with a named reason, never raises."""

from __future__ import annotations

import io
import tracemalloc
from typing import get_args

import pytest
from PIL import Image

from app.failure_reasons import FailureReason
from app.settings import Settings
from tests.corpus import Case, bad_inputs
from worker.models.null_model import BackdropDistanceMaskModel
from worker.pipeline import PipelineConfig, PipelineError, process_image_bytes
from worker.pipeline.quality import QualityReason

CONFIG = PipelineConfig.from_settings(Settings())
NULL_CHAIN = [BackdropDistanceMaskModel()]


def test_corpus_has_at_least_fifteen_kinds() -> None:
    assert len({case.name for case in bad_inputs()}) >= 15


@pytest.mark.parametrize("case", bad_inputs(), ids=lambda case: case.name)
def test_bad_input_through_the_pipeline(case: Case) -> None:
    if case.status == "failed":
        with pytest.raises(PipelineError) as caught:
            process_image_bytes(case.data, models=NULL_CHAIN, config=CONFIG)
        assert caught.value.reason == case.reason
        assert isinstance(caught.value.reason, FailureReason)
        return
    result = process_image_bytes(case.data, models=NULL_CHAIN, config=CONFIG)
    output = Image.open(io.BytesIO(result.png))
    assert output.format == "PNG"
    assert output.mode == "RGB"
    assert output.size == case.size
    assert result.mask.size == output.size


def test_exif_rotated_photo_comes_out_upright() -> None:
    (case,) = [case for case in bad_inputs() if case.name == "exif_rotated"]
    stored = Image.open(io.BytesIO(case.data)).size
    result = process_image_bytes(case.data, models=NULL_CHAIN, config=CONFIG)
    assert stored == (480, 640)  # the pixels lie sideways in the file
    assert result.size == (640, 480)  # turned as the EXIF orientation says
    left, top, right, bottom = result.attempts[0].subject_box
    assert bottom - top > right - left  # and the book stands upright again


def test_already_transparent_pixels_stay_background() -> None:
    (case,) = [case for case in bad_inputs() if case.name == "rgba_transparent"]
    result = process_image_bytes(case.data, models=NULL_CHAIN, config=CONFIG)
    source_alpha = Image.open(io.BytesIO(case.data)).getchannel("A")
    mask = result.mask.load()
    alpha = source_alpha.load()
    transparent = [(x, y) for x in range(0, 640, 16) for y in range(0, 480, 16) if alpha[x, y] == 0]
    assert transparent
    assert all(mask[x, y] == 0 for x, y in transparent)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    (case,) = [case for case in bad_inputs() if case.name == "decompression_bomb"]
    tracemalloc.start()
    with pytest.raises(PipelineError, match="image_too_large"):
        process_image_bytes(case.data, models=NULL_CHAIN, config=CONFIG)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10 * 1024 * 1024  # 30000x30000 RGB would be 2.7 GB


def test_large_photo_is_downscaled_to_the_limit() -> None:
    big = Image.new("RGB", (6000, 3000), (220, 220, 220))
    big.paste((30, 40, 90), (2000, 500, 4000, 2500))
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=85)
    config = PipelineConfig.from_settings(Settings(max_image_dimension=1500))
    result = process_image_bytes(buffer.getvalue(), models=NULL_CHAIN, config=config)
    assert result.size == (1500, 750)
    assert result.source_size == (6000, 3000)


def test_no_model_passing_names_the_reason_and_every_attempt() -> None:
    tiny = Image.new("RGB", (1000, 1000), (230, 230, 230))
    tiny.paste((20, 20, 20), (450, 450, 550, 550))  # 1% of the frame
    buffer = io.BytesIO()
    tiny.save(buffer, format="PNG")
    chain = [BackdropDistanceMaskModel(), BackdropDistanceMaskModel(threshold=30)]
    with pytest.raises(PipelineError) as caught:
        process_image_bytes(buffer.getvalue(), models=chain, config=CONFIG)
    assert caught.value.reason == "quality_area_too_small"
    assert [attempt.reason for attempt in caught.value.attempts] == ["area_too_small"] * 2


def test_every_quality_verdict_names_a_failure_reason() -> None:
    """The seed's verdict reasons keep their names; the job's reason is `quality_` + that."""
    for verdict_reason in get_args(QualityReason):
        assert FailureReason(f"quality_{verdict_reason}").value == f"quality_{verdict_reason}"


def test_a_reason_outside_the_vocabulary_is_refused_where_it_is_raised() -> None:
    with pytest.raises(ValueError, match="quality_too_blue"):
        PipelineError("quality_too_blue", "no such verdict")


def test_second_model_wins_when_the_first_fails() -> None:
    class Blind:
        name = "blind"

        def predict_mask(self, image: Image.Image) -> Image.Image:
            return Image.new("L", image.size, 0)

    (case,) = [case for case in bad_inputs() if case.name == "plain_jpeg"]
    result = process_image_bytes(case.data, models=[Blind(), *NULL_CHAIN], config=CONFIG)
    assert result.model == "null"
    assert [(a.model, a.passed, a.reason) for a in result.attempts] == [
        ("blind", False, "no_subject"),
        ("null", True, None),
    ]
