"""Synthetic book photos with exact ground-truth masks, for the demo, the benchmark and the
evaluation set. Built only from images bundled with scikit-image and procedural textures:
nothing is downloaded.

    python -m devtools.synthetic_photos --out out/synth --set eval
"""

from devtools.synthetic_photos.manifest import GENERATOR_VERSION, Case, generate_set, load_manifest

__all__ = ["GENERATOR_VERSION", "Case", "generate_set", "load_manifest"]
