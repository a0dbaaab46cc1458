"""Images that ship inside scikit-image's wheel, read straight from its data folder.

Only the files bundled with the package are used: `skimage.data` can also fetch larger
images with pooch, and this generator must never download anything, so it reads the files
by path and fails loudly if one is missing instead of letting a fetcher try the network.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import Image

# Colour photos usable as cover art, and greyscale images usable as textures or insets.
COVER_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina")
GREY_IMAGES = ("camera", "moon", "coins", "text", "page", "brick", "grass", "gravel", "cell")

_FILES = {
    "astronaut": "astronaut.png",
    "coffee": "coffee.png",
    "chelsea": "chelsea.png",
    "rocket": "rocket.jpg",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
    "camera": "camera.png",
    "moon": "moon.png",
    "coins": "coins.png",
    "text": "text.png",
    "page": "page.png",
    "brick": "brick.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "cell": "cell.png",
}


class MissingAssetError(RuntimeError):
    """A bundled scikit-image file is not where this version of the package keeps it."""


def _data_dir() -> Path:
    import skimage.data  # imported lazily: `import devtools.synthetic_photos` stays cheap

    return Path(skimage.data.__file__).resolve().parent


@functools.cache
def _load(name: str) -> Image.Image:
    try:
        path = _data_dir() / _FILES[name]
    except KeyError:
        raise MissingAssetError(f"unknown bundled image {name!r}") from None
    if not path.is_file():
        raise MissingAssetError(f"{path} is not bundled with this scikit-image")
    with Image.open(path) as image:
        image.load()
        return image.copy()


def bundled_rgb(name: str) -> Image.Image:
    """A bundled image as RGB (a copy the caller may modify)."""
    return _load(name).convert("RGB")


def bundled_grey(name: str) -> Image.Image:
    """A bundled image as 8-bit greyscale."""
    return _load(name).convert("L")
