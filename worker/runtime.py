"""What a worker process holds for its whole life: the preloaded model chain."""

from __future__ import annotations

import logging
import os

from app.settings import Settings
from worker.mask_models import MaskModel
from worker.model_registry import get_spec
from worker.provisioning import verify_model

log = logging.getLogger(__name__)

_models: list[MaskModel] | None = None


class ModelsNotLoadedError(RuntimeError):
    """A task ran in a process whose models were never loaded: a start-up bug, not bad input."""


def prepare_environment(settings: Settings) -> None:
    """Point numba's JIT cache (pymatting, imported by rembg) at a writable folder.

    numba reads its cache location from the environment at import, so this runs
    before rembg is first imported; the settings remain the one place it is read.
    """
    settings.numba_cache_dir.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(settings.numba_cache_dir)


def verify_model_chain(settings: Settings) -> None:
    """Every model file of MODEL_CHAIN present with rembg's MD5; ModelFileError otherwise."""
    for name in settings.model_chain:
        verify_model(get_spec(name), settings.u2net_home)


def threads_per_process(settings: Settings, concurrency: int) -> int:
    """ORT_INTRA_OP_THREADS when set; else the cores split between the pool's processes, so
    their onnxruntime pools do not fight."""
    if settings.ort_intra_op_threads:
        return settings.ort_intra_op_threads
    return max(1, (os.cpu_count() or 1) // max(1, concurrency))


def load_models(settings: Settings, *, threads: int) -> list[MaskModel]:
    global _models
    from worker.sessions import load_models as load_onnx_models

    prepare_environment(settings)
    _models = list(
        load_onnx_models(settings.model_chain, home=settings.u2net_home, threads=threads)
    )
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
