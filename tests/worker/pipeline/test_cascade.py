"""The cascade: the fast model first, the next one only when the mask fails or is doubtful."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from worker.pipeline.cascade import CascadeConfig, run_cascade, settle
from worker.pipeline.doubt import mask_doubt, shadow_share
from worker.pipeline.errors import PipelineError
from worker.pipeline.quality import ModelAttempt

SIZE = (400, 300)
CONFIG = CascadeConfig(min_area_ratio=0.095, max_aspect_diff=1.6, max_doubt=0.1, max_shadow=0.15)


def config(*, max_doubt: float = 0.1, max_shadow: float = 0.15) -> CascadeConfig:
    return CascadeConfig(0.095, 1.6, max_doubt=max_doubt, max_shadow=max_shadow)


def book_mask(*, grey_band: int = 0, size: tuple[int, int] = SIZE) -> Image.Image:
    """A sure book (255) in the middle, with `grey_band` pixels of alpha 128 around it."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    box = (100, 60, 300, 240)
    draw.rectangle(
        (box[0] - grey_band, box[1] - grey_band, box[2] + grey_band, box[3] + grey_band),
        fill=128,
    )
    draw.rectangle(box, fill=255)
    return mask


SURE = book_mask()
DOUBTFUL = book_mask(grey_band=40)
TINY = Image.new("L", SIZE, 0)
ImageDraw.Draw(TINY).rectangle((10, 10, 30, 30), fill=255)


class Scripted:
    """A model that answers one fixed mask and counts its calls."""

    def __init__(self, name: str, mask: Image.Image) -> None:
        self.name = name
        self.mask = mask
        self.calls = 0

    def predict_mask(self, image: Image.Image) -> Image.Image:
        self.calls += 1
        return self.mask


def photo() -> Image.Image:
    return Image.new("RGB", SIZE, (90, 90, 90))


def test_a_sure_mask_from_the_fast_model_wins_and_the_big_model_never_runs() -> None:
    fast, big = Scripted("fast", SURE), Scripted("big", SURE)
    result = run_cascade(photo(), None, [fast, big], CONFIG)
    assert (result.model.name, result.escalated, big.calls) == ("fast", False, 0)
    assert [a.model for a in result.attempts] == ["fast"]
    assert result.attempts[0].doubt == 0.0


def test_a_doubtful_mask_escalates_to_the_next_model() -> None:
    fast, big = Scripted("fast", DOUBTFUL), Scripted("big", SURE)
    result = run_cascade(photo(), None, [fast, big], CONFIG)
    assert (result.model.name, result.escalated) == ("big", True)
    assert result.attempts[0].passed
    assert result.attempts[0].doubt > CONFIG.max_doubt
    assert result.mask is SURE


def test_a_failed_validation_escalates_to_the_next_model() -> None:
    fast, big = Scripted("fast", TINY), Scripted("big", SURE)
    result = run_cascade(photo(), None, [fast, big], CONFIG)
    assert (result.model.name, result.escalated) == ("big", True)
    assert result.attempts[0].reason == "area_too_small"


def test_the_last_models_passing_mask_is_accepted_however_doubtful() -> None:
    fast, big = Scripted("fast", TINY), Scripted("big", DOUBTFUL)
    result = run_cascade(photo(), None, [fast, big], CONFIG)
    assert result.model.name == "big"


def test_a_doubtful_mask_beats_failing_the_job_when_the_next_model_fails() -> None:
    fast, big = Scripted("fast", DOUBTFUL), Scripted("big", TINY)
    result = run_cascade(photo(), None, [fast, big], CONFIG)
    assert (result.model.name, result.escalated) == ("fast", True)
    assert result.mask is DOUBTFUL


def test_no_passing_mask_fails_with_the_last_models_verdict() -> None:
    blank = Image.new("L", SIZE, 0)
    with pytest.raises(PipelineError) as caught:
        run_cascade(photo(), None, [Scripted("fast", blank), Scripted("big", TINY)], CONFIG)
    assert caught.value.reason == "quality_area_too_small"
    assert [a.reason for a in caught.value.attempts] == ["no_subject", "area_too_small"]


@pytest.mark.parametrize(("max_doubt", "winner"), [(1.0, "fast"), (0.0, "big")])
def test_the_threshold_is_the_operators_choice(max_doubt: float, winner: str) -> None:
    """1.0: escalate on failed validation only; 0.0: every photo runs the whole chain."""
    fast, big = Scripted("fast", book_mask(grey_band=2)), Scripted("big", SURE)
    chosen = run_cascade(photo(), None, [fast, big], config(max_doubt=max_doubt))
    assert chosen.model.name == winner


def test_transparent_source_pixels_stay_background_before_judging() -> None:
    alpha = Image.new("L", SIZE, 0)  # a fully transparent source: nothing is subject
    with pytest.raises(PipelineError) as caught:
        run_cascade(photo(), alpha, [Scripted("fast", SURE)], CONFIG)
    assert caught.value.reason == "quality_no_subject"


def test_doubt_is_the_unsure_share_of_the_subject() -> None:
    assert mask_doubt(SURE) == 0.0
    assert mask_doubt(Image.new("L", SIZE, 0)) == 1.0  # nothing at all: no confidence
    assert mask_doubt(Image.new("L", SIZE, 128)) == 1.0
    # 200x180 sure, a 40-pixel band around it unsure: 280x260 - 201x181 grey pixels.
    grey, sure = 281 * 261 - 201 * 181, 201 * 181
    assert mask_doubt(DOUBTFUL) == pytest.approx(grey / (grey + sure))
    # Alpha below 10 % (26 of 255) is background, not doubt.
    faint = book_mask()
    ImageDraw.Draw(faint).rectangle((0, 0, 50, 50), fill=20)
    assert mask_doubt(faint) == 0.0


def attempt(name: str, *, passed: bool, doubt: float) -> ModelAttempt:
    return ModelAttempt(name, passed, None if passed else "area_too_small", None, 0.1, doubt)


@pytest.mark.parametrize(
    ("chain", "max_doubt", "kept"),
    [
        ([(True, 0.05), (True, 0.0)], 0.1, 0),  # sure: the fast model's
        ([(True, 0.30), (True, 0.2)], 0.1, 1),  # doubtful: the last model's, however unsure
        ([(True, 0.30), (True, 0.2)], 0.5, 0),  # a looser threshold keeps the fast one
        ([(False, 0.0), (True, 0.2)], 0.1, 1),  # failed validation
        ([(True, 0.30), (False, 0.0)], 0.1, 0),  # doubtful beats failing
        ([(False, 0.0), (False, 0.0)], 0.1, None),
    ],
)
def test_settle_replays_what_run_cascade_decides(chain, max_doubt: float, kept) -> None:
    attempts = [attempt(f"m{i}", passed=p, doubt=d) for i, (p, d) in enumerate(chain)]
    assert settle(attempts, config(max_doubt=max_doubt)) == kept
    # The same decision, made live: masks whose verdicts and doubts are about the chain's.
    masks = {
        (True, 0.0): SURE,
        (True, 0.05): book_mask(grey_band=1),
        (True, 0.2): book_mask(grey_band=12),
        (True, 0.30): book_mask(grey_band=18),
        (False, 0.0): TINY,
    }
    models = [Scripted(f"m{i}", masks[step]) for i, step in enumerate(chain)]
    if kept is None:
        with pytest.raises(PipelineError):
            run_cascade(photo(), None, models, config(max_doubt=max_doubt))
    else:
        chosen = run_cascade(photo(), None, models, config(max_doubt=max_doubt))
        assert chosen.model.name == f"m{kept}"


TABLE, SHADOW, COVER = (196, 170, 130), (78, 68, 52), (40, 60, 150)  # the shadow: 40 % table
BOOK_BOX, SHADOW_BOX = (100, 60, 260, 240), (260, 80, 330, 260)


def sunlit_photo() -> Image.Image:
    """A blue book on a wooden-coloured table, its cast shadow to the right."""
    image = Image.new("RGB", SIZE, TABLE)
    draw = ImageDraw.Draw(image)
    draw.rectangle(SHADOW_BOX, fill=SHADOW)
    draw.rectangle(BOOK_BOX, fill=COVER)
    return image


def mask_of(*boxes: tuple[int, int, int, int]) -> Image.Image:
    mask = Image.new("L", SIZE, 0)
    for box in boxes:
        ImageDraw.Draw(mask).rectangle(box, fill=255)
    return mask


def test_shadow_share_is_the_part_of_the_subject_that_is_darkened_backdrop() -> None:
    with_shadow = mask_of(BOOK_BOX, SHADOW_BOX)
    # Pixels of each: the book covers the shadow's first column except its last 20 rows.
    book, shadow = 161 * 181, 70 * 181 + 20
    assert shadow_share(sunlit_photo(), with_shadow) == pytest.approx(shadow / (book + shadow))
    assert shadow_share(sunlit_photo(), mask_of(BOOK_BOX)) == 0.0
    # A dark book of another colour is not a shadow, however dark.
    assert shadow_share(Image.new("RGB", SIZE, TABLE), mask_of(BOOK_BOX)) == 0.0


def test_no_backdrop_at_the_frames_edge_is_no_evidence() -> None:
    everything = Image.new("L", SIZE, 255)
    assert shadow_share(sunlit_photo(), everything) == 0.0


def test_a_sure_mask_that_took_the_shadow_escalates() -> None:
    fast = Scripted("fast", mask_of(BOOK_BOX, SHADOW_BOX))
    big = Scripted("big", mask_of(BOOK_BOX))
    result = run_cascade(sunlit_photo(), None, [fast, big], CONFIG)
    assert result.attempts[0].doubt == 0.0  # sure of it: uncertainty could not tell
    assert result.attempts[0].shadow > CONFIG.max_shadow
    assert (result.model.name, result.escalated) == ("big", True)
    # With the shadow sign off (1.0), the fast model's mask stands.
    kept = run_cascade(sunlit_photo(), None, [fast, big], config(max_shadow=1.0))
    assert kept.model.name == "fast"
