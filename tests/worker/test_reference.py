"""Our masks against rembg's own published outputs for its fixture (shared/reference/rembg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT

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


def test_rembg_own_predict_agrees_with_the_reference(onnx_models) -> None:
    """The reference itself is reproducible here, so a drop above is ours, not the runtime's."""
    photo = Image.open(REFERENCE / "anime-girl-1.jpg").convert("RGB")
    expected = np.asarray(Image.open(REFERENCE / "anime-girl-1.u2net.png").getchannel("A")) > 127
    (theirs,) = onnx_models["u2net"].session.predict(photo)
    assert iou(np.asarray(theirs) > 127, expected) >= 0.999
