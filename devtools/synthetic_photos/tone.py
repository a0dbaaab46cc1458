"""Luma (ITU-R BT.601) and the tone curve that gives a book its designed brightness."""

from __future__ import annotations

import numpy as np
from PIL import Image

LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def mean_luma(rgb: np.ndarray, mask: np.ndarray) -> float:
    """Mean of 0.299 R + 0.587 G + 0.114 B over the pixels where `mask` is true (or > 0).

    Computed channel by channel (the mean is linear), which keeps memory flat on big frames.
    """
    selected = np.asarray(mask) > 0
    if not selected.any():
        raise ValueError("the mask selects no pixel")
    return float(
        sum(
            weight * rgb[..., channel][selected].mean(dtype=np.float64)
            for channel, weight in enumerate(LUMA_WEIGHTS)
        )
    )


def tone_to_luma(image: Image.Image, mask: Image.Image, target: float) -> Image.Image:
    """Apply the gamma curve that brings the mean luma under `mask` closest to `target`.

    The mean luma after a per-channel curve depends only on each channel's histogram, so
    the search evaluates the curve on 256 levels, not on every pixel.
    """
    histograms = np.array(image.histogram(mask), dtype=np.float64).reshape(3, 256)
    weights = histograms * np.array(LUMA_WEIGHTS)[:, None] / histograms[0].sum()
    levels = np.arange(256) / 255.0
    low, high = np.log(0.1), np.log(10.0)  # log-gamma bounds; gamma > 1 darkens
    for _ in range(30):
        middle = (low + high) / 2
        if (weights * 255.0 * levels ** np.exp(middle)).sum() > target:
            low = middle
        else:
            high = middle
    gamma = float(np.exp((low + high) / 2))
    table = [round(255.0 * level**gamma) for level in levels]
    return image.point(table * 3)
