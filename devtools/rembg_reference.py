"""rembg, the reference the worker is measured against: its own session, on our model files.

The worker never imports rembg (worker/models/onnx_model.py builds its onnxruntime session
itself, and the image does not install rembg). The tests and benchmarks compare the worker's
masks and speed with rembg's own `predict` and `remove`; `rembg_session` gives them rembg's
session class for a model, loading the MD5-checked file from U2NET_HOME with the worker's
session options, so rembg's downloader never runs and the two differ only in the code around
`session.run`.

`python -m devtools.rembg_reference` (`make warmup`): the first `import rembg` in a venv
compiles pymatting's numba kernels (about 50 s on 2 cores; numba caches them beside
pymatting's sources in the venv), then every MODEL_CHAIN model runs once through rembg, so
the tests and benchmarks that use the reference start warm.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from app.settings import get_settings
from worker.models.onnx_model import session_options
from worker.models.registry import ModelSpec, get_spec
from worker.models.runtime import checked_path


def rembg_session(spec: ModelSpec, home: Path, *, threads: int = 0) -> Any:
    """rembg's session for `spec` (a `rembg.sessions.BaseSession`), from the checked file."""
    from rembg.sessions import sessions

    path = checked_path(spec, home)
    base = sessions[spec.name]
    # rembg's extension point for "where is the file": answer with the checked path.
    provisioned = type(
        f"Provisioned{base.__name__}",
        (base,),
        {"download_models": classmethod(lambda cls, *args, **kwargs: str(path))},
    )
    return provisioned(spec.name, session_options(threads), providers=["CPUExecutionProvider"])


def main() -> int:
    settings = get_settings()
    started = time.perf_counter()
    import rembg  # noqa: F401 - the first import is the compile

    imported = time.perf_counter()
    from PIL import Image

    probe = Image.new("RGB", (64, 48), (200, 180, 40))
    for name in settings.model_chain:
        rembg_session(get_spec(name), settings.u2net_home).predict(probe)
    summary = {
        "import_rembg_s": round(imported - started, 2),
        "models": settings.model_chain,
        "total_s": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
