"""The deploy pipeline's shape, read from the workflows: its jobs and steps in order, images
built once and promoted by digest, and a rollback that covers every recorded service."""

from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.checks import REPO_ROOT, SERVICES
from tests.deploy.conftest import replace_in
from tests.deploy.workflow_files import WORKFLOWS, index_of, workflow
from tests.deploy.workflow_steps import load, step, steps


def deploy_pipeline_problems(root: Path) -> list[str]:
    problems = []
    jobs = workflow(root, "deploy.yml")["jobs"]
    if jobs.get("test", {}).get("uses") != "./.github/workflows/test.yml":
        problems.append("deploy: the first job must run the test workflow")
    if "make test" not in str(workflow(root, "test.yml")):
        problems.append("test: must run `make test`")
    build = str(workflow(root, "build.yml"))
    if "docker buildx build --platform linux/amd64 --provenance=false" not in build:
        problems.append("build: no `docker buildx build --platform linux/amd64 --provenance=false`")
    job = workflow(root, "deploy-environment.yml")["jobs"]["deploy"]
    if job.get("environment") != "${{ inputs.environment }}":
        problems.append("deploy-environment: the job must bind the GitHub environment")
    order = [
        "deploy/render.py",
        "aws ecs register-task-definition",
        '"command":["migrate"]',
        "previous_worker",
        "aws ecs update-service",
        "aws ecs wait services-stable",
        "/health/ready",
        "smoke_test.py",
        "deployed-",
        "git tag",
    ]
    positions = [index_of(job["steps"], text) for text in order]
    problems += [
        f"deploy-environment: no `{t}`" for t, p in zip(order, positions, strict=True) if p < 0
    ]
    found = [p for p in positions if p >= 0]
    if found != sorted(found):
        problems.append("deploy-environment: steps out of order")
    return problems


def test_deploy_pipeline() -> None:
    assert deploy_pipeline_problems(REPO_ROOT) == []


def test_planted_provenance_drop_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(root / WORKFLOWS / "build.yml", " --provenance=false", "")
    assert deploy_pipeline_problems(root) == [
        "build: no `docker buildx build --platform linux/amd64 --provenance=false`"
    ]


# --- build once, promote by digest -----------------------------------------------------------


def build_once_problems(root: Path) -> list[str]:
    """One build, in staging's account; every later job gets digests, never a rebuild."""
    problems = []
    for path in sorted((root / WORKFLOWS).glob("*.yml")):
        scripts = " ".join(str(s.get("run", "")) for s in steps(load(path)))
        if re.search(r"docker (buildx )?build ", scripts) and path.name != "build.yml":
            problems.append(f"{path.name} builds an image: only build.yml may")
    jobs = workflow(root, "deploy.yml")["jobs"]
    build, staging, production = (jobs.get(name, {}) for name in ("build", "staging", "production"))
    if (build.get("uses"), build.get("with"), build.get("needs")) != (
        "./.github/workflows/build.yml",
        {"environment": "staging"},
        "test",
    ):
        problems.append("deploy: build must run build.yml once, as staging, after test")
    for job, source, environment, promote in (
        (staging, "build", "staging", None),
        (production, "staging", "production", True),
    ):
        handed = {
            key: f"${{{{ needs.{source}.outputs.{key} }}}}"
            for key in ("runtime_image", "api_image")
        }
        expected: dict[str, object] = {"environment": environment, **handed}
        if promote:
            expected["promote"] = True
        if (
            job.get("uses") != "./.github/workflows/deploy-environment.yml"
            or job.get("with") != expected
        ):
            problems.append(f"deploy: {environment} must deploy {source}'s digests ({expected})")
        if job.get("needs") != source:
            problems.append(f"deploy: {environment} must need {source}")
    return problems + digest_handover_problems(root)


def digest_handover_problems(root: Path) -> list[str]:
    """deploy-environment hands its digests on from the `passed` step, after the smoke test."""
    problems = []
    environment_workflow = workflow(root, "deploy-environment.yml")
    deploy_job = environment_workflow["jobs"]["deploy"]
    deploy_steps = deploy_job["steps"]
    called_outputs = environment_workflow["on"]["workflow_call"].get("outputs", {})
    for key in ("runtime_image", "api_image"):
        chain = (
            called_outputs.get(key, {}).get("value"),
            deploy_job.get("outputs", {}).get(key),
        )
        if chain != (
            f"${{{{ jobs.deploy.outputs.{key} }}}}",
            f"${{{{ steps.passed.outputs.{key} }}}}",
        ):
            problems.append(f"deploy-environment: output {key} must come from the `passed` step")
    passed = [i for i, s in enumerate(deploy_steps) if s.get("id") == "passed"]
    if not passed or passed[0] < index_of(deploy_steps, "smoke_test.py"):
        problems.append("deploy-environment: digests must be handed on only after the smoke test")
    return problems


def test_images_are_built_once_and_promoted_by_digest() -> None:
    assert build_once_problems(REPO_ROOT) == []


def test_planted_rebuild_in_production_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "deploy-environment.yml",
        "docker buildx imagetools create --prefer-index=false --tag",
        "docker buildx build --push --tag",
    )
    assert build_once_problems(root) == [
        "deploy-environment.yml builds an image: only build.yml may"
    ]


def test_planted_production_skipping_the_smoke_tested_digest_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "deploy.yml",
        "runtime_image: ${{ needs.staging.outputs.runtime_image }}",
        "runtime_image: ${{ needs.build.outputs.runtime_image }}",
    )
    problems = build_once_problems(root)
    assert len(problems) == 1
    assert problems[0].startswith("deploy: production must deploy staging's digests")


# --- rollback ----------------------------------------------------------------------------------


ROLLBACK_CONDITION = "(failure() || cancelled()) && steps.previous_worker.outcome == 'success'"


def rollback_problems(root: Path) -> list[str]:
    """Each service's running revision is recorded in its own step before any update; a
    failure or a cancellation (a job's timeout is one) after the first record rolls back every
    recorded service."""
    deploy = workflow(root, "deploy-environment.yml")
    deploy_steps, rollback = deploy["jobs"]["deploy"]["steps"], step(deploy, "rollback")
    first_update = min(
        i
        for i, s in enumerate(deploy_steps)
        if "aws ecs update-service" in s.get("run", "") and s is not rollback
    )
    problems = []
    for service in SERVICES:
        position = index_of(deploy_steps, f"previous_{service}")
        record = deploy_steps[position] if position >= 0 else {}
        if record.get("env", {}).get("SERVICE") != service or "describe-services" not in record.get(
            "run", ""
        ):
            problems.append(f"no step records {service}'s running task definition")
        elif position > first_update:
            problems.append(f"{service}'s task definition is recorded after an update")
        wanted = f"${{{{ steps.previous_{service}.outputs.task_definition }}}}"
        if rollback.get("env", {}).get(f"PREVIOUS_{service.upper()}") != wanted:
            problems.append(f"the rollback does not get {service}'s recorded task definition")
    if rollback.get("if") != ROLLBACK_CONDITION:
        problems.append(
            "the rollback must run on any failure or cancellation after the first record"
        )
    if deploy_steps.index(rollback) < index_of(deploy_steps, "smoke_test.py"):
        problems.append("the rollback must come after the smoke test")
    return problems


def test_rollback_covers_every_recorded_service() -> None:
    assert rollback_problems(REPO_ROOT) == []


def test_planted_rollback_only_after_a_full_update_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "deploy-environment.yml",
        "steps.previous_worker.outcome == 'success'",
        "steps.update.outcome == 'success'",
    )
    assert rollback_problems(root) == [
        "the rollback must run on any failure or cancellation after the first record"
    ]


def test_planted_rollback_on_failure_only_is_refused(planted) -> None:
    """A cancelled or timed-out deploy would leave the services half-updated."""
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "deploy-environment.yml",
        "if: (failure() || cancelled()) && steps",
        "if: failure() && steps",
    )
    assert rollback_problems(root) == [
        "the rollback must run on any failure or cancellation after the first record"
    ]
