"""The repository's GitHub workflows as the tests read them: one workflow by name, one step
of a job by what it says."""

from __future__ import annotations

from pathlib import Path

from tests.deploy.workflow_steps import load

WORKFLOWS = ".github/workflows"


def workflow(root: Path, name: str) -> dict:
    """The workflow `name`; a missing one reads as empty, so a check names what it lacks."""
    path = root / WORKFLOWS / name
    return load(path) if path.exists() else {"on": {}, "jobs": {}}


def index_of(job_steps: list[dict], text: str) -> int:
    """The first step whose id, name or script holds `text`; -1 when none does."""
    for index, candidate in enumerate(job_steps):
        if any(text in str(candidate.get(key, "")) for key in ("id", "name", "run")):
            return index
    return -1
