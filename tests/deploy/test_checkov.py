"""checkov over terraform/, the Dockerfile and the workflows, from its own venv
(.ci/checkov-venv) with BC_SKIP_MAPPING=TRUE; no failure, and every skip says why inline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.checks import REPO_ROOT
from tests.deploy.conftest import replace_in, run

pytestmark = pytest.mark.slow

SKIP_COMMENT = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")
MIN_REASON = 20  # characters: a reason, not a shrug


def run_checkov(checkov: str, root: Path) -> list[dict[str, Any]]:
    result = run(
        [
            checkov,
            "--compact",
            "--skip-download",
            "--output",
            "json",
            "--framework",
            "terraform",
            "dockerfile",
            "github_actions",
            "-d",
            "terraform",
            "-f",
            "Dockerfile",
            "-d",
            ".github",
        ],
        cwd=root,
        BC_SKIP_MAPPING="TRUE",
        LOG_LEVEL="ERROR",
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    # One JSON document per scanned target, printed back to back.
    reports: list[dict[str, Any]] = []
    decoder, text, at = json.JSONDecoder(), result.stdout.strip(), 0
    while at < len(text):
        document, at = decoder.raw_decode(text, at)
        reports += document if isinstance(document, list) else [document]
        while at < len(text) and text[at].isspace():
            at += 1
    return reports


def failures(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]


def skip_problems(root: Path) -> list[str]:
    problems = []
    for path in [
        *root.glob("terraform/*.tf"),
        root / "Dockerfile",
        *root.glob(".github/workflows/*"),
    ]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for check_id, reason in SKIP_COMMENT.findall(line):
                if len(reason.strip()) < MIN_REASON:
                    problems.append(f"{path.name}:{number}: skip of {check_id} without a reason")
    return problems


@pytest.fixture(scope="module")
def clean_reports(checkov: str) -> list[dict[str, Any]]:
    return run_checkov(checkov, REPO_ROOT)


def test_checkov_finds_no_failure(clean_reports: list[dict[str, Any]]) -> None:
    assert failures(clean_reports) == []
    passed = sum(r.get("summary", {}).get("passed", 0) for r in clean_reports)
    assert passed > 100, "checkov ran almost no check: is it scanning the right folders?"


def test_every_skip_checkov_honoured_carries_its_reason(
    clean_reports: list[dict[str, Any]],
) -> None:
    skipped = [c for r in clean_reports for c in r.get("results", {}).get("skipped_checks", [])]
    assert skipped, "no skips seen: checkov did not read the inline comments"
    for check in skipped:
        comment = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(comment.strip()) >= MIN_REASON, f"{check['check_id']} {check['resource']}"


def test_every_inline_skip_has_a_reason() -> None:
    assert skip_problems(REPO_ROOT) == []


def test_planted_skip_without_reason_is_refused(planted) -> None:
    root = planted("terraform", "Dockerfile", ".github")
    replace_in(
        root / "terraform/sns.tf",
        'resource "aws_sns_topic" "alarms" {',
        'resource "aws_sns_topic" "alarms" {\n  # checkov:skip=CKV_AWS_26',
        count=1,
    )
    assert skip_problems(root) == ["sns.tf:4: skip of CKV_AWS_26 without a reason"]


def test_planted_mistake_fails_checkov(checkov: str, planted) -> None:
    root = planted("terraform", "deploy/ecs", "Dockerfile", ".github")
    replace_in(
        root / "terraform/sqs.tf",
        "  sqs_managed_sse_enabled   = true",
        "  sqs_managed_sse_enabled   = false",
    )
    replace_in(
        root / "terraform/s3.tf",
        "block_public_acls       = true",
        "block_public_acls       = false",
    )
    found = failures(run_checkov(checkov, root))
    assert any(f.startswith("CKV_AWS_27 aws_sqs_queue.dead_letter") for f in found), found
    assert any(
        f.startswith("CKV_AWS_53 aws_s3_bucket_public_access_block.images") for f in found
    ), found
