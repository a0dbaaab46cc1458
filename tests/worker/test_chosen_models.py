"""A job's model chain: the loaded one, or the models it asked for in its order; never a model
the process did not load."""

from __future__ import annotations

import pytest

from app.failure_reasons import FailureReason
from app.processing_overrides import ProcessingOverrides
from worker.job_runner import JobFailedError, chosen_models
from worker.models.null_model import BackdropDistanceMaskModel


def _named(name: str) -> BackdropDistanceMaskModel:
    model = BackdropDistanceMaskModel()
    model.name = name
    return model


def _loaded() -> list[BackdropDistanceMaskModel]:
    return [_named("u2netp"), _named("u2net")]


def test_no_override_is_the_loaded_chain() -> None:
    models = _loaded()
    assert chosen_models(models, ProcessingOverrides()) is models


def test_an_override_picks_loaded_models_in_its_order() -> None:
    chosen = chosen_models(_loaded(), ProcessingOverrides(model_chain=("u2net", "u2netp")))
    assert [model.name for model in chosen] == ["u2net", "u2netp"]


def test_a_model_not_loaded_fails_the_job_with_a_named_reason() -> None:
    with pytest.raises(JobFailedError) as failed:
        chosen_models(_loaded(), ProcessingOverrides(model_chain=("isnet-general-use",)))
    assert failed.value.reason is FailureReason.model_not_loaded
