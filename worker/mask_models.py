"""What the pipeline needs of a model, and a null variant that needs no model file.

The pipeline calls `predict_mask(image) -> mask` on each model of the chain; the
real variant is `worker.sessions.OnnxMaskModel` (rembg's sessions on
onnxruntime), and `BackdropDistanceMaskModel` is a fast, deterministic stand-in
for tests of the plumbing and for machines where no model is provisioned.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PIL import Image


class MaskModel(Protocol):
    name: str

    def predict_mask(self, image: Image.Image) -> Image.Image:
        """An 8-bit "L" mask at the image's size: 255 is subject, 0 is background."""
        ...


class BackdropDistanceMaskModel:
    """Subject = pixels far in colour from the median of the image's border.

    Good enough for synthetic photos on plain backdrops; a null variant, not a model.
    """

    name = "null"

    def __init__(self, threshold: float = 60.0) -> None:
        self.threshold = threshold

    def predict_mask(self, image: Image.Image) -> Image.Image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
        border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]], axis=0)
        backdrop = np.median(border, axis=0)
        distance = np.abs(pixels - backdrop).sum(axis=2)
        return Image.fromarray(np.where(distance > self.threshold, 255, 0).astype(np.uint8))
