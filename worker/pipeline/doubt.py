"""Two cheap signs that a mask may be wrong, for the cascade to escalate on (cascade.py).

- `mask_doubt`: the model was unsure. A sure mask is nearly binary with a thin soft edge; a
  doubtful one has wide grey regions where the model could not decide between the book and
  what lies around it (a white book on a white desk, a book held in front of a shelf).
- `shadow_share`: the model was sure, and wrong in a way uncertainty cannot show: it took
  the book's cast shadow for part of the book. Pixels of the subject that have the colour of
  the backdrop around the frame's edge, only darker, are that shadow. Chromaticity (r, g, b
  over their sum) is what a shadow keeps of the surface it falls on; brightness is what it
  takes away.

Both are calibrated on the evaluation set (`make eval`, docs/quality.md).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

# 10 % and 90 % alpha on the mask's 0-255 scale; the subject is 50 % and up.
UNSURE_FROM, SURE_FROM, SUBJECT_FROM = 26, 230, 128
# shadow_share looks at the photo at most this many pixels on its long side.
SHADOW_SCAN_SIZE = 400
# The frame's edge sampled for the backdrop: this share of the short side, at least 2 pixels.
EDGE_SHARE = 0.04
MIN_BACKDROP_PIXELS = 50
# A shadow: within 3 spreads of the backdrop's chromaticity, 5-80 % of its brightness.
CHROMA_SPREADS, CHROMA_FLOOR = 3.0, 0.003
SHADOW_BRIGHTNESS = (0.05, 0.8)


def mask_doubt(mask: Image.Image) -> float:
    """How unsure the model was of its subject, 0..1: pixels between 10 % and 90 % alpha over
    those at 10 % or more. 1.0 when nothing reaches 10 %."""
    histogram = mask.histogram()
    unsure = sum(histogram[UNSURE_FROM:SURE_FROM])
    sure = sum(histogram[SURE_FROM:])
    return unsure / (unsure + sure) if unsure + sure else 1.0


def shadow_share(image: Image.Image, mask: Image.Image) -> float:
    """The share of the subject's pixels that look like the backdrop in shadow, 0..1; 0.0 when
    the frame's edge shows too little backdrop to tell (the subject fills the frame)."""
    factor = max(1, math.ceil(max(image.size) / SHADOW_SCAN_SIZE))
    rgb = np.asarray(image.reduce(factor))
    alpha = np.asarray(mask.reduce(factor))
    subject = alpha >= SUBJECT_FROM
    edge = np.zeros(alpha.shape, dtype=bool)
    width = max(2, round(EDGE_SHARE * min(alpha.shape)))
    edge[:width], edge[-width:], edge[:, :width], edge[:, -width:] = True, True, True, True
    backdrop = edge & (alpha < UNSURE_FROM)
    if backdrop.sum() < MIN_BACKDROP_PIXELS or not subject.any():
        return 0.0
    # Brightness and chromaticity of the two sets of pixels that matter, not of the whole
    # frame: the backdrop's edge band and the subject (a third of the work, the same values).
    backdrop_brightness, backdrop_chroma = _brightness_and_chroma(rgb[backdrop])
    subject_brightness, subject_chroma = _brightness_and_chroma(rgb[subject])
    reference_chroma = np.median(backdrop_chroma, axis=0)
    spread = float(backdrop_chroma.std(axis=0).mean()) + CHROMA_FLOOR
    reference_brightness = float(np.median(backdrop_brightness))
    low, high = (share * reference_brightness for share in SHADOW_BRIGHTNESS)
    shadow = (
        (np.abs(subject_chroma - reference_chroma).sum(axis=1) < CHROMA_SPREADS * spread)
        & (subject_brightness > low)
        & (subject_brightness < high)
    )
    return float(shadow.sum() / subject_brightness.size)


def _brightness_and_chroma(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel of an (n, 3) array: r + g + b, and r and g over that sum (b follows)."""
    pixels = pixels.astype(np.float32)
    brightness = pixels.sum(axis=1) + 1e-3
    return brightness, pixels[:, :2] / brightness[:, None]
