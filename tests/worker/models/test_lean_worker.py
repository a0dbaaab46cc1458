"""A worker process never imports rembg nor the alpha-matting stack it brings: not when Celery
imports the task module, not when the process loads its chain (docs/deployment.md, "A lean
worker"). Checked in a fresh interpreter, where nothing else has imported them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MATTING_STACK = ("rembg", "pymatting", "numba", "llvmlite", "scipy", "skimage", "cv2", "pooch")

# What a worker process does: Celery imports the task module (worker.lifecycle with it), the
# main process preloads the model code before forking (worker_init), a pool process loads the
# chain (worker_process_init). After each step, which of the modules named are imported.
PROBE = """
import json, sys
from app.settings import get_settings

stack = set(sys.argv[1:])
imported = lambda: sorted(name for name in sys.modules if name.split(".")[0] in stack)
{before}
import worker.tasks
after_import = imported()
import onnxruntime, worker.models.onnx_model
from worker.models import runtime
models = runtime.load_models(get_settings(), threads=1)
print(json.dumps({{"import": after_import, "load": imported(), "models": len(models)}}))
"""


def probe(model_home: Path, *, before: str = "") -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(before=before), *MATTING_STACK],
        env={
            **os.environ,
            "U2NET_HOME": str(model_home),
            "MODEL_CHAIN": "u2netp,u2net",
            "LOG_LEVEL": "WARNING",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.model
def test_a_worker_process_imports_nothing_of_rembg(model_home: Path) -> None:
    assert probe(model_home) == {"import": [], "load": [], "models": 2}


@pytest.mark.model
def test_planted_rembg_import_is_seen(model_home: Path) -> None:
    """The probe sees what is imported: the dev venv has rembg (the reference), and importing
    it brings the stack along."""
    seen = probe(model_home, before="import rembg")
    assert {"rembg", "pymatting", "numba", "llvmlite", "scipy", "skimage", "pooch"} <= {
        name.split(".")[0] for name in seen["import"]
    }
