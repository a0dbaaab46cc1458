"""Fixtures for the worker tests: the real models, loaded once for the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from worker.models import runtime
from worker.models.files import ModelFileError, verify_model
from worker.models.onnx_model import OnnxMaskModel
from worker.models.registry import get_spec

MODEL_HOME = Settings().u2net_home


@pytest.fixture(scope="session")
def model_home() -> Path:
    """U2NET_HOME with u2net and u2netp provisioned (`make models` does it)."""
    try:
        for name in ("u2net", "u2netp"):
            verify_model(get_spec(name), MODEL_HOME)
    except ModelFileError as error:
        pytest.fail(f"{error} — run `make models` first")
    return MODEL_HOME


@pytest.fixture(scope="session")
def onnx_models(model_home: Path) -> dict[str, OnnxMaskModel]:
    """u2net and u2netp, loaded once and reused by every test, as a worker process would."""
    chain = runtime.build_chain(["u2net", "u2netp"], home=model_home)
    return {model.name: model for model in chain}
