"""docker/smoke_test.py's decision: which answers let a deploy go on. The script ships in the
image beside the packages, not in one, so it is loaded from its file."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests.deploy.checks import REPO_ROOT

MODELS = ["u2net", "u2netp"]
DEPLOYED = "4f2b9c0d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"
PREVIOUS = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"


@pytest.fixture(scope="module")
def smoke_test() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "smoke_test", REPO_ROOT / "docker" / "smoke_test.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def answer(**changes: object) -> dict[str, object]:
    """A worker's answer as worker.tasks.smoke_test gives it, with `changes`."""
    deployed = {"version": "0.1.0", "commit": DEPLOYED, "models": MODELS, "hostname": "ip-10-0-5"}
    return {**deployed, **changes}


def test_the_deployed_commit_with_every_model_passes(smoke_test) -> None:
    assert smoke_test.verdict(answer(), MODELS, DEPLOYED) == []


def test_a_worker_of_the_previous_revision_fails(smoke_test) -> None:
    assert smoke_test.verdict(answer(commit=PREVIOUS), MODELS, DEPLOYED) == [
        f"the answering worker runs commit {PREVIOUS!r}, expected {DEPLOYED!r}"
    ]


def test_a_worker_too_old_to_report_its_commit_fails(smoke_test) -> None:
    old = answer()
    del old["commit"]
    assert smoke_test.verdict(old, MODELS, DEPLOYED) == [
        f"the answering worker runs commit None, expected {DEPLOYED!r}"
    ]


def test_a_missing_model_fails(smoke_test) -> None:
    assert smoke_test.verdict(answer(models=["u2net"]), MODELS, DEPLOYED) == [
        "models not loaded: ['u2netp']"
    ]


def test_without_an_expected_commit_only_the_models_count(smoke_test) -> None:
    assert smoke_test.verdict(answer(commit="unknown"), MODELS, None) == []
