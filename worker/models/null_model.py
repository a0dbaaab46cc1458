"""The null variant: a fast, deterministic stand-in that needs no model file.

For tests of the plumbing (tasks, jobs, the pipeline's error paths) and for machines where no
model is provisioned; never in MODEL_CHAIN, so production cannot pick it by mistake.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


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
