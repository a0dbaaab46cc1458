"""The deploy role (terraform/iam.tf) and the workflows that assume it: only main's jobs bound
to the role's environment may assume it, the workflows run on main only, and the role's
session outlives the deploy job, so a late rollback still holds credentials.

The trust policy is rendered from terraform and evaluated for the OIDC tokens GitHub issues
(tests/deploy/iam_policies.py), moto evaluating no trust policy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.checks import REPO_ROOT, load_terraform
from tests.deploy.conftest import replace_in
from tests.deploy.iam_policies import Policy, render_trust_policy, trusts
from tests.deploy.workflow_files import WORKFLOWS, workflow
from tests.deploy.workflow_steps import load, triggers

REPOSITORY = "acme/image-processor"
PROVIDER = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
ISSUER = "token.actions.githubusercontent.com"
MAIN = "refs/heads/main"


def trust_policy(root: Path, environment: str) -> Policy:
    refs = {
        "local.github_oidc_provider_arn": PROVIDER,
        "var.github_repository": REPOSITORY,
        "var.environment": environment,
    }
    return render_trust_policy("deploy_assume", refs, load_terraform(root / "terraform"))


def subject(environment: str, ref: str, repository: str = REPOSITORY) -> str:
    """The `sub` of a job bound to `environment` under the repository's subject template
    (include_claim_keys: repo, context, ref; docs/deployment.md)."""
    return f"repo:{repository}:environment:{environment}:ref:{ref}"


# (who asks, the token's sub, may assume staging's deploy role)
TOKENS = [
    ("staging's job on main", subject("staging", MAIN), True),
    ("staging's job dispatched from a branch", subject("staging", "refs/heads/feature"), False),
    ("staging's job on a branch named main-*", subject("staging", "refs/heads/main-old"), False),
    ("staging's job dispatched from a tag", subject("staging", "refs/tags/v1.0.0"), False),
    ("production's job on main", subject("production", MAIN), False),
    ("a job of another repository", subject("staging", MAIN, "acme/fork"), False),
    ("a pull request", f"repo:{REPOSITORY}:pull_request", False),
    ("a job on main without an environment", f"repo:{REPOSITORY}:ref:{MAIN}:ref:{MAIN}", False),
    ("the default subject (no template)", f"repo:{REPOSITORY}:environment:staging", False),
]


def can_assume(policy: Policy, sub: str, audience: str = "sts.amazonaws.com") -> bool:
    return trusts(
        policy,
        principal_type="Federated",
        principal=PROVIDER,
        action="sts:AssumeRoleWithWebIdentity",
        context={f"{ISSUER}:sub": sub, f"{ISSUER}:aud": audience},
    )


def trust_problems(root: Path) -> list[str]:
    policy = trust_policy(root, "staging")
    problems = [
        f"{who} {'cannot' if allowed else 'can'} assume staging's deploy role"
        for who, sub, allowed in TOKENS
        if can_assume(policy, sub) is not allowed
    ]
    if can_assume(policy, subject("staging", MAIN), audience="sigstore"):
        problems.append("a token for another audience can assume staging's deploy role")
    return problems


def test_only_mains_jobs_of_the_environment_can_assume_the_deploy_role() -> None:
    assert trust_problems(REPO_ROOT) == []


def test_production_role_trusts_productions_job_on_main_only() -> None:
    policy = trust_policy(REPO_ROOT, "production")
    assert can_assume(policy, subject("production", MAIN))
    assert not can_assume(policy, subject("staging", MAIN))


SUBJECT = "repo:${var.github_repository}:environment:${var.environment}:ref:refs/heads/main"
SUB_CONDITION = (
    '      test     = "StringEquals"\n'
    '      variable = "token.actions.githubusercontent.com:sub"\n'
    '      values   = ["' + SUBJECT + '"]\n'
)


@pytest.mark.parametrize(
    ("widened", "expected"),
    [
        (
            SUB_CONDITION.replace("StringEquals", "StringLike").replace(
                ":environment:${var.environment}:ref:refs/heads/main", ":*"
            ),
            "staging's job dispatched from a branch can assume staging's deploy role",
        ),
        (
            SUB_CONDITION.replace(":ref:refs/heads/main", ""),
            "staging's job on main cannot assume staging's deploy role",
        ),
        (
            SUB_CONDITION.replace("StringEquals", "StringLike").replace("/main", "/main*"),
            "staging's job on a branch named main-* can assume staging's deploy role",
        ),
    ],
    ids=["repo:<repo>:*", "environment only", "main*"],
)
def test_planted_wider_subject_is_refused(planted, widened: str, expected: str) -> None:
    root = planted("terraform")
    replace_in(root / "terraform" / "iam.tf", SUB_CONDITION, widened)
    assert expected in trust_problems(root)


# --- the workflows deploy main only ------------------------------------------------------------

MAIN_ONLY = "github.ref == 'refs/heads/main'"
ASSUMING_WORKFLOWS = ("build.yml", "deploy-environment.yml")


def ref_guard_problems(root: Path) -> list[str]:
    """The workflows that assume a deploy role run only when deploy.yml calls them, and each
    of deploy.yml's jobs runs on main only (a dispatch from another ref runs nothing)."""
    problems = []
    for name in ASSUMING_WORKFLOWS:
        if set(triggers(workflow(root, name))) != {"workflow_call"}:
            problems.append(f"{name} must run only when deploy.yml calls it")
    for path in sorted((root / WORKFLOWS).glob("*.yml")):
        for job_name, job in load(path)["jobs"].items():
            called = str(job.get("uses", "")).rsplit("/", 1)[-1]
            if called in ASSUMING_WORKFLOWS and path.name != "deploy.yml":
                problems.append(f"{path.name}: job {job_name} calls {called}; only deploy.yml may")
    for job_name, job in workflow(root, "deploy.yml")["jobs"].items():
        if job.get("if") != MAIN_ONLY:
            problems.append(f"deploy.yml: job {job_name} must run on main only (if: {MAIN_ONLY})")
    return problems


def test_the_deploy_runs_on_main_only() -> None:
    assert ref_guard_problems(REPO_ROOT) == []


def test_planted_unguarded_production_job_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "deploy.yml",
        f"  production:\n    if: {MAIN_ONLY}\n",
        "  production:\n",
    )
    assert ref_guard_problems(root) == [
        f"deploy.yml: job production must run on main only (if: {MAIN_ONLY})"
    ]


# --- a session as long as the deploy ---------------------------------------------------------

DEFAULT_SESSION_SECONDS = 3600  # configure-aws-credentials' and IAM's default


def session_problems(root: Path) -> list[str]:
    """Each job that assumes the deploy role asks for a session at least as long as its
    timeout, and the role's max_session_duration grants it."""
    role = load_terraform(root / "terraform").resource("aws_iam_role", "deploy")
    max_session = int(role.get("max_session_duration", DEFAULT_SESSION_SECONDS))
    problems = []
    for name in ASSUMING_WORKFLOWS:
        for job_name, job in workflow(root, name)["jobs"].items():
            for job_step in job.get("steps", []):
                if "configure-aws-credentials" not in job_step.get("uses", ""):
                    continue
                asked = int(
                    job_step.get("with", {}).get("role-duration-seconds", DEFAULT_SESSION_SECONDS)
                )
                timeout = int(job["timeout-minutes"]) * 60
                if asked < timeout:
                    problems.append(
                        f"{name} {job_name}: the AWS session ({asked} s) ends before the job's "
                        f"timeout ({timeout} s)"
                    )
                if asked > max_session:
                    problems.append(
                        f"{name} {job_name}: the deploy role's max_session_duration "
                        f"({max_session} s) refuses a session of {asked} s"
                    )
    return problems


def test_the_deploy_holds_credentials_until_its_timeout() -> None:
    assert session_problems(REPO_ROOT) == []


def test_planted_default_session_is_refused(planted) -> None:
    root = planted(".github", "terraform")
    replace_in(root / WORKFLOWS / "deploy-environment.yml", "role-duration-seconds: 7200", "")
    assert session_problems(root) == [
        "deploy-environment.yml deploy: the AWS session (3600 s) ends before the job's "
        "timeout (6000 s)"
    ]


def test_planted_role_without_a_longer_session_is_refused(planted) -> None:
    root = planted(".github", "terraform")
    replace_in(root / "terraform" / "iam.tf", "max_session_duration = 7200", "")
    assert session_problems(root) == [
        "deploy-environment.yml deploy: the deploy role's max_session_duration (3600 s) "
        "refuses a session of 7200 s"
    ]
