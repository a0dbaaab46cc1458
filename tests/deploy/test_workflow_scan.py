"""The deploy refuses an image with CRITICAL or HIGH ECR scan findings (issue 19, item 15): the
step's script run against the recording fake AWS CLI, before anything is registered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.deploy.checks import REPO_ROOT
from tests.deploy.workflow_files import index_of, workflow
from tests.deploy.workflow_steps import Rule, StepRun, run_step, step

REGISTRY = "111111111111.dkr.ecr.eu-west-1.amazonaws.com"
IMAGES = {
    "RUNTIME_IMAGE": f"{REGISTRY}/ip-staging@sha256:{'a' * 64}",
    "API_IMAGE": f"{REGISTRY}/ip-staging-api@sha256:{'b' * 64}",
}


def findings(repository: str, counts: dict[str, int]) -> Rule:
    return Rule(
        "aws",
        f"describe-image-scan-findings --repository-name {repository} ",
        json.dumps(counts),
    )


def scan(root: Path, rules: list[Rule], work: Path) -> StepRun:
    scan_step = step(workflow(root, "deploy-environment.yml"), "scan")
    env = {**IMAGES, "BLOCKING_SEVERITIES": scan_step["env"]["BLOCKING_SEVERITIES"]}
    return run_step(scan_step, env, rules, work)


def test_images_without_blocking_findings_pass_after_their_scans_complete(tmp_path) -> None:
    rules = [
        findings("ip-staging", {"MEDIUM": 4, "LOW": 12}),
        findings("ip-staging-api", {}),
    ]
    passed = scan(REPO_ROOT, rules, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    waited = passed.commands("aws", "ecr", "wait", "image-scan-complete")
    assert [argv[argv.index("--image-id") + 1] for argv in waited] == [
        f"imageDigest=sha256:{'a' * 64}",
        f"imageDigest=sha256:{'b' * 64}",
    ]


@pytest.mark.parametrize("severity", ["CRITICAL", "HIGH"])
def test_a_critical_or_high_finding_blocks_the_deploy(tmp_path, severity: str) -> None:
    rules = [findings("ip-staging", {}), findings("ip-staging-api", {severity: 1, "LOW": 3})]
    blocked = scan(REPO_ROOT, rules, tmp_path)
    assert blocked.returncode != 0
    assert f"ip-staging-api@sha256:{'b' * 64} has 1 {severity} finding(s)" in blocked.stdout


def test_a_scan_that_never_completes_blocks_the_deploy(tmp_path) -> None:
    rules = [Rule("aws", "wait image-scan-complete", exit=255), findings("ip-staging", {})]
    assert scan(REPO_ROOT, rules, tmp_path).returncode != 0


def test_the_scan_gate_runs_before_any_task_definition_is_registered() -> None:
    job = workflow(REPO_ROOT, "deploy-environment.yml")["jobs"]["deploy"]["steps"]
    assert -1 < index_of(job, "image-scan-complete") < index_of(job, "register-task-definition")
