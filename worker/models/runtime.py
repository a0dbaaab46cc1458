"""What a worker process holds for its whole life: the model chain, loaded once.

A worker checks its model files once per start: `verify_model_chain` hashes them in the main
process (Celery's worker_init, worker/lifecycle.py) before the pool forks, and keeps the record.
Each pool process is a fork of that main process, inherits the record, and `load_models` only
confirms with a stat that each file is still the one hashed. A process with no record (the
`image-processor` command, a benchmark) hashes the files itself, once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.settings import Settings
from worker.models.base import MaskModel
from worker.models.files import VerifiedModelFile, model_path, verify_model
from worker.models.registry import ModelSpec, get_spec

if TYPE_CHECKING:
    from worker.models.onnx_model import OnnxMaskModel

log = logging.getLogger(__name__)

_models: list[MaskModel] | None = None
# The files this process (or the process it was forked from) hashed, by path.
_verified: dict[Path, VerifiedModelFile] = {}


class ModelsNotLoadedError(RuntimeError):
    """A task ran in a process whose models were never loaded: a start-up bug, not bad input."""


def verify_model_chain(settings: Settings) -> list[VerifiedModelFile]:
    """Hash every model file of MODEL_CHAIN (ModelFileError if one is missing or corrupt) and
    keep the record for the processes forked from this one."""
    checked = [_hash(get_spec(name), settings.u2net_home) for name in settings.model_chain]
    log.info("model files verified (MD5): %s", ", ".join(str(file.path) for file in checked))
    return checked


def checked_path(spec: ModelSpec, home: Path) -> Path:
    """The model's file, hashed at most once per worker start: the record of an earlier check
    is trusted while the file keeps the size and mtime it had when it was hashed."""
    known = _verified.get(model_path(spec, home))
    if known is not None and known.unchanged():
        return known.path
    return _hash(spec, home).path


def _hash(spec: ModelSpec, home: Path) -> VerifiedModelFile:
    checked = verify_model(spec, home)
    _verified[checked.path] = checked
    return checked


def threads_per_process(settings: Settings, concurrency: int) -> int:
    """ORT_INTRA_OP_THREADS when set; else the cores split between the pool's processes, so
    their onnxruntime pools do not fight."""
    if settings.ort_intra_op_threads:
        return settings.ort_intra_op_threads
    return max(1, (os.cpu_count() or 1) // max(1, concurrency))


def build_chain(names: Sequence[str], *, home: Path, threads: int = 0) -> list[OnnxMaskModel]:
    """The models named, in order; every file is checked before any is loaded, so a bad second
    file fails fast instead of after the first model's seconds of loading."""
    # Imported here: numpy, Pillow and onnxruntime load only where a model is loaded.
    from worker.models.onnx_model import load_onnx_model

    specs = [get_spec(name) for name in names]
    paths = [checked_path(spec, home) for spec in specs]
    return [
        load_onnx_model(spec, path, threads=threads)
        for spec, path in zip(specs, paths, strict=True)
    ]


def load_models(settings: Settings, *, threads: int) -> list[MaskModel]:
    """Build MODEL_CHAIN and keep it as this process's chain (`get_models`)."""
    global _models
    _models = list(build_chain(settings.model_chain, home=settings.u2net_home, threads=threads))
    log.info("loaded models %s", ", ".join(model.name for model in _models))
    return _models


def use_models(models: list[MaskModel]) -> None:
    """Install an already-built chain (tests use the null variant this way)."""
    global _models
    _models = list(models)


def get_models() -> list[MaskModel]:
    if _models is None:
        raise ModelsNotLoadedError("no models loaded in this process")
    return _models


def loaded_model_names() -> list[str]:
    return [model.name for model in _models or []]
