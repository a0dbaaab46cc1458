"""The deploy pipeline's steps, their scripts run for real against a fake AWS CLI and Docker
(tests/deploy/workflow_steps.py): build once and promote by digest, each service on its
image, the rollback, the smoke test's commit, the deployed-* tags."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.deploy.checks import REPO_ROOT, SERVICES
from tests.deploy.conftest import replace_in
from tests.deploy.workflow_files import WORKFLOWS, index_of, workflow
from tests.deploy.workflow_steps import GITHUB_SHA, Rule, run_step, step

REGISTRY = "111111111111.dkr.ecr.eu-west-1.amazonaws.com"
PRODUCTION_REGISTRY = "222222222222.dkr.ecr.eu-west-1.amazonaws.com"
RUNTIME_DIGEST = "sha256:" + "a" * 64
API_DIGEST = "sha256:" + "b" * 64


# --- build once, promote by digest -----------------------------------------------------------


def describe_images(repository: str, digest: str) -> Rule:
    return Rule("aws", f"describe-images --repository-name {repository} ", f"{digest}\n")


def test_build_pushes_both_targets_with_their_commit_and_hands_on_digests(tmp_path) -> None:
    build = workflow(REPO_ROOT, "build.yml")
    repositories = {"RUNTIME_REPOSITORY": "ip-staging", "API_REPOSITORY": "ip-staging-api"}
    not_there = Rule("aws", "describe-images", exit=254)
    built = run_step(
        step(build, "build"), {"REGISTRY": REGISTRY, **repositories}, [not_there], tmp_path
    )
    assert built.returncode == 0, built.stderr
    expected = [
        f"buildx build --platform linux/amd64 --provenance=false --target {target} "
        f"--build-arg BUILD_COMMIT={GITHUB_SHA} --tag {REGISTRY}/{repository}:{GITHUB_SHA} --push ."
        for target, repository in (("runtime", "ip-staging"), ("api", "ip-staging-api"))
    ]
    assert built.command_lines("docker") == expected

    rerun = run_step(step(build, "build"), {"REGISTRY": REGISTRY, **repositories}, [], tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.command_lines("docker") == []  # immutable tags: the re-run reuses its push

    ecr = [
        describe_images("ip-staging", RUNTIME_DIGEST),
        describe_images("ip-staging-api", API_DIGEST),
    ]
    digests = run_step(step(build, "digests"), repositories, ecr, tmp_path)
    assert digests.returncode == 0, digests.stderr
    assert digests.outputs == {
        "runtime_image": f"ip-staging@{RUNTIME_DIGEST}",
        "api_image": f"ip-staging-api@{API_DIGEST}",
    }


def test_production_copies_the_staging_digest_and_refuses_any_other(tmp_path) -> None:
    deploy = workflow(REPO_ROOT, "deploy-environment.yml")
    handed = {
        "RUNTIME_REPOSITORY": "ip-production",
        "API_REPOSITORY": "ip-production-api",
        "REGISTRY": PRODUCTION_REGISTRY,
    }
    copy = run_step(
        step(deploy, "promote"),
        {
            **handed,
            "SOURCE_REGISTRY": REGISTRY,
            "RUNTIME_SOURCE": f"ip-staging@{RUNTIME_DIGEST}",
            "API_SOURCE": f"ip-staging-api@{API_DIGEST}",
        },
        [Rule("aws", "describe-images", exit=254)],
        tmp_path,
    )
    assert copy.returncode == 0, copy.stderr
    assert copy.command_lines("docker") == [
        f"buildx imagetools create --prefer-index=false "
        f"--tag {PRODUCTION_REGISTRY}/{repository}:{GITHUB_SHA} {REGISTRY}/{source}"
        for repository, source in (
            ("ip-production", f"ip-staging@{RUNTIME_DIGEST}"),
            ("ip-production-api", f"ip-staging-api@{API_DIGEST}"),
        )
    ]

    images = {
        "RUNTIME_IMAGE": f"ip-staging@{RUNTIME_DIGEST}",
        "API_IMAGE": f"ip-staging-api@{API_DIGEST}",
    }
    same = [
        describe_images("ip-production", RUNTIME_DIGEST),
        describe_images("ip-production-api", API_DIGEST),
    ]
    resolved = run_step(step(deploy, "images"), {**handed, **images}, same, tmp_path)
    assert resolved.returncode == 0, resolved.stderr
    assert resolved.outputs == {
        "runtime": f"{PRODUCTION_REGISTRY}/ip-production@{RUNTIME_DIGEST}",
        "api": f"{PRODUCTION_REGISTRY}/ip-production-api@{API_DIGEST}",
    }

    other = [describe_images("ip-production", "sha256:" + "f" * 64), *same]
    refused = run_step(step(deploy, "images"), {**handed, **images}, other, tmp_path)
    assert refused.returncode != 0
    assert "::error::ip-production:" in refused.stdout
    assert refused.outputs == {}


# --- each service on its image -----------------------------------------------------------------


def registered_images(root: Path, work: Path) -> dict[str, str]:
    """Run the render-and-register step on a copy of deploy/: the image of each task
    definition it registers."""
    templates = " ".join(p.read_text() for p in (root / "deploy/ecs").glob("*.json"))
    values = {name: f"sample-{name}" for name in re.findall(r"\$\{(\w+)\}", templates)}
    # render.py checks the worker's stopTimeout against its hard limit: that one is a number.
    values["task_time_limit"] = "100"
    (root / "deploy-values.json").write_text(json.dumps(values))
    register = step(workflow(root, "deploy-environment.yml"), "register")
    env = {
        "RUNTIME_IMAGE": f"{REGISTRY}/ip@{RUNTIME_DIGEST}",
        "API_IMAGE": f"{REGISTRY}/ip-api@{API_DIGEST}",
    }
    arn = Rule("aws", "register-task-definition", "arn:aws:ecs:eu-west-1:1:task-definition/x:2\n")
    result = run_step(register, env, [arn], work, cwd=root)
    assert result.returncode == 0, result.stderr
    assert set(result.outputs) == set(SERVICES)
    images = {}
    for service in SERVICES:
        task_definition = json.loads((root / f"taskdef-{service}.json").read_text())
        images[service] = task_definition["containerDefinitions"][0]["image"]
    return images


def service_image_problems(root: Path, work: Path) -> list[str]:
    problems = []
    images = registered_images(root, work)
    for service, image in images.items():
        expected = (
            f"{REGISTRY}/ip-api@{API_DIGEST}"
            if service == "api"
            else f"{REGISTRY}/ip@{RUNTIME_DIGEST}"
        )
        if image != expected:
            problems.append(f"{service} runs {image}, not {expected}")
    deploy_steps = workflow(root, "deploy-environment.yml")["jobs"]["deploy"]["steps"]
    migrate = deploy_steps[index_of(deploy_steps, '"command":["migrate"]')]
    if migrate["env"].get("API_TASK_DEFINITION") != "${{ steps.register.outputs.api }}":
        problems.append("the migration must run the api task definition (the api image)")
    return problems


def test_api_and_migration_run_the_api_image_the_rest_the_runtime(planted, tmp_path) -> None:
    root = planted(".github", "deploy")
    assert service_image_problems(root, tmp_path / "runner") == []


def test_planted_api_on_the_runtime_image_is_refused(planted, tmp_path) -> None:
    root = planted(".github", "deploy")
    replace_in(
        root / WORKFLOWS / "deploy-environment.yml",
        'register api "$API_IMAGE"',
        'register api "$RUNTIME_IMAGE"',
    )
    assert service_image_problems(root, tmp_path / "runner") == [
        f"api runs {REGISTRY}/ip@{RUNTIME_DIGEST}, not {REGISTRY}/ip-api@{API_DIGEST}"
    ]


# --- rollback ----------------------------------------------------------------------------------


def roll_back(work: Path, rules: list[Rule], **previous: str):
    env = {
        "CLUSTER": "ip-staging",
        **{f"PREVIOUS_{s.upper()}": previous.get(s, "") for s in SERVICES},
    }
    return run_step(
        step(workflow(REPO_ROOT, "deploy-environment.yml"), "rollback"), env, rules, work
    )


def test_rollback_reverts_the_recorded_services_and_waits_for_them(tmp_path) -> None:
    result = roll_back(tmp_path, [], worker="arn:worker:7", beat="arn:beat:3")
    assert result.returncode == 0, result.stderr
    assert result.command_lines("aws") == [
        "ecs update-service --cluster ip-staging --service worker --task-definition arn:worker:7 "
        "--query service.serviceName --output text",
        "ecs update-service --cluster ip-staging --service beat --task-definition arn:beat:3 "
        "--query service.serviceName --output text",
        "ecs wait services-stable --cluster ip-staging --services worker beat",
    ]


def test_rollback_that_does_not_stabilise_fails_loudly(tmp_path) -> None:
    timeout = Rule("aws", "wait services-stable", exit=255)
    result = roll_back(tmp_path, [timeout], worker="arn:worker:7", beat="arn:beat:3")
    assert result.returncode != 0
    assert "::error::rollback of worker beat did not stabilise" in result.stdout


def test_rollback_goes_on_past_a_refused_service_then_fails(tmp_path) -> None:
    refused = Rule("aws", "--service worker", exit=254)
    result = roll_back(tmp_path, [refused], worker="arn:worker:7", api="arn:api:9")
    assert result.returncode != 0
    assert result.commands("aws", "update-service", "api")  # api was still rolled back
    assert (
        result.command_lines("aws")[-1]
        == "ecs wait services-stable --cluster ip-staging --services api"
    )
    assert "::error::rollback refused for worker" in result.stdout


# --- the smoke test names the commit -----------------------------------------------------------


def smoke_test_command(root: Path, work: Path, exit_code: str = "0") -> tuple[int, list[str]]:
    """Run the smoke-test step against a fake ECS: its exit status, and the command the
    one-off worker task was given."""
    deploy_steps = workflow(root, "deploy-environment.yml")["jobs"]["deploy"]["steps"]
    smoke = deploy_steps[index_of(deploy_steps, "smoke_test.py")]
    env = {
        "CLUSTER": "ip-staging",
        "SUBNETS": "subnet-1,subnet-2",
        "SECURITY_GROUP": "sg-1",
        "WORKER_TASK_DEFINITION": "arn:worker:8",
    }
    rules = [
        Rule("aws", "run-task", "arn:aws:ecs:eu-west-1:1:task/ip-staging/abc\n"),
        Rule("aws", "describe-tasks", f"{exit_code}\n"),
    ]
    result = run_step(smoke, env, rules, work)
    [run_task] = result.commands("aws", "run-task")
    overrides = json.loads(run_task[run_task.index("--overrides") + 1])
    return result.returncode, overrides["containerOverrides"][0]["command"]


def test_smoke_test_expects_the_deployed_commit(tmp_path) -> None:
    returncode, command = smoke_test_command(REPO_ROOT, tmp_path)
    assert returncode == 0
    assert command[command.index("--expect-commit") + 1] == GITHUB_SHA
    assert smoke_test_command(REPO_ROOT, tmp_path, exit_code="1")[0] != 0


def test_planted_smoke_test_without_the_commit_is_caught(planted, tmp_path) -> None:
    root = planted(".github")
    replace_in(root / WORKFLOWS / "deploy-environment.yml", ',"--expect-commit","%s"', "")
    _, command = smoke_test_command(root, tmp_path)
    assert "--expect-commit" not in command


# --- deployed-* tags ---------------------------------------------------------------------------


def test_deployed_images_get_a_deployed_tag_by_digest(tmp_path) -> None:
    deploy = workflow(REPO_ROOT, "deploy-environment.yml")
    deploy_steps = deploy["jobs"]["deploy"]["steps"]
    protect = step(deploy, "protect")
    assert "if" not in protect  # only after everything above, the smoke test included, passed
    assert deploy_steps.index(protect) > index_of(deploy_steps, "smoke_test.py")
    manifest = '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
    env = {
        "RUNTIME_IMAGE": f"{REGISTRY}/ip-staging@{RUNTIME_DIGEST}",
        "API_IMAGE": f"{REGISTRY}/ip-staging-api@{API_DIGEST}",
    }
    result = run_step(protect, env, [Rule("aws", "batch-get-image", manifest + "\n")], tmp_path)
    assert result.returncode == 0, result.stderr
    put = result.commands("aws", "put-image")
    assert [argv[argv.index("--repository-name") + 1] for argv in put] == [
        "ip-staging",
        "ip-staging-api",
    ]
    assert [argv[argv.index("--image-digest") + 1] for argv in put] == [RUNTIME_DIGEST, API_DIGEST]
    assert all(argv[argv.index("--image-manifest") + 1] == manifest for argv in put)
    tags = {argv[argv.index("--image-tag") + 1] for argv in put}
    assert len(tags) == 1
    assert re.fullmatch(r"deployed-\d{8}T\d{6}Z", tags.pop())
    fetched = result.commands("aws", "batch-get-image")
    assert [argv[argv.index("--image-ids") + 1] for argv in fetched] == [
        f"imageDigest={RUNTIME_DIGEST}",
        f"imageDigest={API_DIGEST}",
    ]
