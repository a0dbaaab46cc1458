"""Our masks against rembg's own published outputs for its fixture (shared/reference/rembg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devtools.rembg_reference import rembg_session
from tests.conftest import REPO_ROOT
from worker.models.registry import get_spec

REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "rembg"
pytestmark = pytest.mark.model


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.mark.parametrize("name", ["u2net", "u2netp"])
def test_mask_matches_rembg_published_output(name: str, onnx_models, output_dir: Path) -> None:
    photo = Image.open(REFERENCE / "anime-girl-1.jpg").convert("RGB")
    expected = Image.open(REFERENCE / f"anime-girl-1.{name}.png").getchannel("A")
    ours = onnx_models[name].predict_mask(photo)
    score = iou(np.asarray(ours) > 127, np.asarray(expected) > 127)
    if score < 0.99:
        ours.save(output_dir / f"reference-{name}.ours.png")
        expected.save(output_dir / f"reference-{name}.rembg.png")
    assert score >= 0.99, f"IoU {score:.4f}; the pair is in {output_dir}"


def test_rembg_own_predict_agrees_with_the_reference(model_home: Path) -> None:
    """The reference itself is reproducible here, so a drop above is ours, not the runtime's:
    rembg's own session and `predict`, on our checked file with our session options."""
    photo = Image.open(REFERENCE / "anime-girl-1.jpg").convert("RGB")
    expected = np.asarray(Image.open(REFERENCE / "anime-girl-1.u2net.png").getchannel("A")) > 127
    (theirs,) = rembg_session(get_spec("u2net"), model_home).predict(photo)
    assert iou(np.asarray(theirs) > 127, expected) >= 0.999


@pytest.mark.parametrize("name", ["u2net", "u2netp"])
def test_our_session_computes_what_rembg_session_computes(
    name: str, onnx_models, model_home: Path
) -> None:
    """The worker builds its onnxruntime session itself, without rembg: the same input through
    rembg's session gives the same raw output, so every mask is the one rembg's session gave."""
    photo = Image.open(REFERENCE / "anime-girl-1.jpg").convert("RGB")
    ours = onnx_models[name]
    feed = ours.prepare(photo)
    theirs = rembg_session(get_spec(name), model_home).inner_session.run(None, feed)[0][0, 0]
    np.testing.assert_array_equal(ours.run(feed), theirs)
