"""`make eval` replays the cascade from each model's measurement: the replay must decide what a
worker decides, and the hard cases must show why the cascade looks past uncertainty."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from devtools.mask_scores import cascade_at, cascade_config, score_case
from devtools.synthetic_photos import generate_set, load_manifest
from worker.pipeline import PipelineConfig, process_image_bytes

pytestmark = pytest.mark.model
# A plain cover u2netp is sure of, a white book u2netp doubts, and a stack whose sun shadow
# u2netp takes for part of it without any doubt.
CASES = ["cover-light-type-cloth", "white-hardcover-white-wood", "shadow-sun-stack"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("hard")
    return {case.id: case for case in load_manifest(generate_set("eval", folder, only=CASES))}


def test_the_replayed_cascade_is_the_workers(cases, onnx_models) -> None:
    settings = Settings()
    chain = [onnx_models[name] for name in settings.model_chain]
    for case in cases.values():
        scores = score_case(chain, case, settings)
        replayed = cascade_at(scores, settings.model_chain, cascade_config(settings))
        worker = process_image_bytes(
            Path(case.image_path).read_bytes(),
            models=chain,
            config=PipelineConfig.from_settings(settings),
        )
        assert (replayed.model, replayed.escalated) == (worker.model, worker.escalated), case.id


def test_each_sign_catches_what_the_other_cannot(cases, onnx_models) -> None:
    settings = Settings()
    fast = onnx_models[settings.model_chain[0]]
    sure = score_case([fast], cases["cover-light-type-cloth"], settings)[fast.name]
    doubted = score_case([fast], cases["white-hardcover-white-wood"], settings)[fast.name]
    shadowed = score_case([fast], cases["shadow-sun-stack"], settings)[fast.name]
    assert sure.doubt <= settings.cascade_max_doubt
    assert sure.shadow <= settings.cascade_max_shadow
    assert doubted.doubt > settings.cascade_max_doubt  # holes in a white book: unsure
    # The shadow taken for the book: sure of it, so only the shadow sign escalates.
    assert shadowed.doubt <= settings.cascade_max_doubt
    assert shadowed.shadow > settings.cascade_max_shadow
    assert shadowed.iou < 0.5
