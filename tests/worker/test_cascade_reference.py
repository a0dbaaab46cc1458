"""The default cascade on rembg's published fixture: whichever model it settles on, the mask is
the one rembg's own output for that model shows (shared/reference/rembg)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.settings import Settings
from tests.conftest import REPO_ROOT
from worker.pipeline import PipelineConfig, process_image_bytes

REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "rembg"
pytestmark = pytest.mark.model


@pytest.mark.parametrize("max_doubt", [Settings().cascade_max_doubt, 0.0, 1.0])
def test_the_cascade_keeps_rembgs_mask_of_the_model_it_picks(max_doubt: float, onnx_models) -> None:
    """At the default threshold, and at the two ends, where u2net and u2netp each win."""
    settings = Settings(cascade_max_doubt=max_doubt)
    chain = [onnx_models[name] for name in settings.model_chain]
    result = process_image_bytes(
        (REFERENCE / "anime-girl-1.jpg").read_bytes(),
        models=chain,
        config=PipelineConfig.from_settings(settings),
    )
    if max_doubt == 0.0:
        assert (result.model, result.escalated) == (chain[-1].name, True)
    if max_doubt == 1.0:
        assert (result.model, result.escalated) == (chain[0].name, False)
    theirs = Image.open(REFERENCE / f"anime-girl-1.{result.model}.png").getchannel("A")
    ours, expected = np.asarray(result.mask) > 127, np.asarray(theirs) > 127
    assert float((ours & expected).sum() / (ours | expected).sum()) >= 0.99
