"""What the pipeline needs of a model: the one method every variant implements.

The variants are `worker.models.onnx_model.OnnxMaskModel` (an onnxruntime session of a
u2net-family model, what production runs) and
`worker.models.null_model.BackdropDistanceMaskModel` (no model file, for fast tests). A
Protocol rather than a base class: the pipeline needs a name and `predict_mask`, nothing to
inherit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image


class MaskModel(Protocol):
    name: str

    def predict_mask(self, image: Image.Image) -> Image.Image:
        """An 8-bit "L" mask at the image's size: 255 is subject, 0 is background."""
        ...
