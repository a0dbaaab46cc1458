"""Synthetic book photos with exact ground-truth masks, for the demo, the benchmark and the
evaluation set. Built only from images bundled with scikit-image and procedural textures:
nothing is downloaded.

    python -m worker.synth --out out/synth --set eval
"""

from worker.synth.manifest import GENERATOR_VERSION, Case, generate_set, load_manifest

__all__ = ["GENERATOR_VERSION", "Case", "generate_set", "load_manifest"]
