"""A deploy counts only what ECS rolled out, and anything less rolls every service back.

After the wait each service must run the revision just registered, with its rollout
COMPLETED (ECS's circuit breaker leaves a failed service stable on its old revision); the API
must answer through its load balancer and Flower's load balancer must find it healthy. The
deploy job's steps run against the fakes of tests/deploy/workflow_steps.py, in the job's order,
each step's env wired to the outputs of the steps before it as the runner wires it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.checks import REPO_ROOT
from tests.deploy.conftest import replace_in
from tests.deploy.workflow_files import WORKFLOWS, workflow
from tests.deploy.workflow_steps import Rule, StepRun, run_step, step, step_env, step_named

CLUSTER = "ip-staging"
VALUES = {
    "cluster": CLUSTER,
    "subnets": "subnet-1,subnet-2",
    "security_group": "sg-1",
    "api_load_balancer": "ip-staging-api-1234.eu-west-1.elb.amazonaws.com",
    "api_domain_name": "api.staging.example.com",
    "flower_target_group": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/ip-flower/9f",
}
PREVIOUS, REGISTERED = 7, 8  # each service's running revision, and the one the deploy registers


def deployed_services(root: Path = REPO_ROOT) -> list[str]:
    """What the deploy updates, waits for and must roll back: the job's SERVICES."""
    services: str = workflow(root, "deploy-environment.yml")["jobs"]["deploy"]["env"]["SERVICES"]
    return services.split()


SERVICES = deployed_services()


def revision(service: str, number: int) -> str:
    return f"arn:aws:ecs:eu-west-1:1:task-definition/{CLUSTER}-{service}:{number}"


class DeployJob:
    """The deploy job of one checkout, its steps run one at a time; what the steps before
    the recorded ones produce (deploy values, registered revisions) is given."""

    def __init__(self, root: Path, work: Path) -> None:
        self.workflow = workflow(root, "deploy-environment.yml")
        self.env = {
            "SERVICES": self.workflow["jobs"]["deploy"]["env"]["SERVICES"],
            "DEPLOY_ENVIRONMENT": "staging",
        }
        self.work = work
        self.outputs: dict[str, dict[str, str]] = {
            "values": dict(VALUES),
            "register": {service: revision(service, REGISTERED) for service in SERVICES},
        }

    def run(self, script_step: dict[str, Any], rules: list[Rule]) -> StepRun:
        env = {**self.env, **step_env(script_step, self.outputs)}
        result = run_step(script_step, env, rules, self.work)
        if "id" in script_step:
            self.outputs[script_step["id"]] = result.outputs
        return result

    def step(self, step_id: str) -> dict[str, Any]:
        return step(self.workflow, step_id)


def described(task_definition: str, rollout_state: str = "COMPLETED") -> str:
    """`aws ecs describe-services --output json` of one service."""
    deployment = {
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "rolloutState": rollout_state,
    }
    service = {"taskDefinition": task_definition, "deployments": [deployment]}
    return json.dumps({"services": [service]}) + "\n"


def after_the_wait(**states: tuple[int, str]) -> list[Rule]:
    """ECS's answers once the waiter returned: each service's revision and rollout state,
    by default the registered revision, COMPLETED."""
    rules = []
    for service in SERVICES:
        number, rollout_state = states.get(service, (REGISTERED, "COMPLETED"))
        answer = described(revision(service, number), rollout_state)
        rules.append(Rule("aws", f"--services {service} --output json", answer))
    return rules


# --- a service ECS rolled back fails the deploy, and every service is rolled back -------------


def deploy_where_ecs_rolls_back(root: Path, work: Path, rolled_back: str) -> dict[str, StepRun]:
    """Record each running revision, update every service, wait: ECS's circuit breaker has
    rolled `rolled_back` back, and it is stable again on its previous revision. Then the
    rollback, which the runner starts once a step failed (its `if`:
    test_workflow_pipeline.py)."""
    job = DeployJob(root, work)
    for service in SERVICES:
        running = Rule("aws", "describe-services", revision(service, PREVIOUS) + "\n")
        recorded = job.run(job.step(f"previous_{service}"), [running])
        assert recorded.returncode == 0, recorded.stderr
    runs = {"update": job.run(step_named(job.workflow, "Update the services"), [])}
    states = {rolled_back: (PREVIOUS, "COMPLETED")}
    runs["stable"] = job.run(job.step("stable"), after_the_wait(**states))
    runs["rollback"] = job.run(job.step("rollback"), [])
    return runs


@pytest.mark.parametrize("rolled_back", SERVICES)
def test_a_service_ecs_rolled_back_fails_the_deploy_and_all_are_rolled_back(
    rolled_back: str, tmp_path: Path
) -> None:
    runs = deploy_where_ecs_rolls_back(REPO_ROOT, tmp_path, rolled_back)
    updated = runs["update"].commands("aws", "update-service")
    assert [argv[argv.index("--service") + 1] for argv in updated] == SERVICES

    stable = runs["stable"]
    assert stable.returncode != 0
    expected_error = (
        f"::error::{rolled_back} runs {revision(rolled_back, PREVIOUS)} (rollout COMPLETED), "
        f"not {revision(rolled_back, REGISTERED)}"
    )
    assert expected_error in stable.stdout
    assert f"::error::not deployed: {rolled_back};" in stable.stdout

    rollback = runs["rollback"]
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert rollback.command_lines("aws") == [
        *(
            f"ecs update-service --cluster {CLUSTER} --service {service} "
            f"--task-definition {revision(service, PREVIOUS)} "
            "--query service.serviceName --output text"
            for service in SERVICES
        ),
        f"ecs wait services-stable --cluster {CLUSTER} --services {' '.join(SERVICES)}",
    ]


def test_a_deploy_every_service_completed_goes_on(tmp_path: Path) -> None:
    job = DeployJob(REPO_ROOT, tmp_path)
    stable = job.run(job.step("stable"), after_the_wait())
    assert stable.returncode == 0, stable.stdout + stable.stderr
    assert stable.command_lines("aws")[0] == (
        f"ecs wait services-stable --cluster {CLUSTER} --services {' '.join(SERVICES)}"
    )
    described_services = stable.commands("aws", "describe-services")
    assert [argv[argv.index("--services") + 1] for argv in described_services] == SERVICES


@pytest.mark.parametrize("rollout_state", ["IN_PROGRESS", "FAILED"])
def test_a_rollout_not_completed_fails_the_deploy(rollout_state: str, tmp_path: Path) -> None:
    job = DeployJob(REPO_ROOT, tmp_path)
    stable = job.run(job.step("stable"), after_the_wait(beat=(REGISTERED, rollout_state)))
    assert stable.returncode != 0
    assert f"::error::beat runs {revision('beat', REGISTERED)} (rollout {rollout_state})" in (
        stable.stdout
    )


def test_planted_wait_without_the_revision_check_is_caught(planted, tmp_path: Path) -> None:
    root = planted(".github")
    replace_in(root / WORKFLOWS / "deploy-environment.yml", '[ "$running" != "$expected" ] || ', "")
    runs = deploy_where_ecs_rolls_back(root, tmp_path, "api")
    assert runs["stable"].returncode == 0  # the rolled-back api would have passed


def test_planted_rollback_forgetting_a_service_is_caught(planted, tmp_path: Path) -> None:
    root = planted(".github")
    replace_in(
        root / WORKFLOWS / "deploy-environment.yml", 'roll_back flower "$PREVIOUS_FLOWER"\n', ""
    )
    runs = deploy_where_ecs_rolls_back(root, tmp_path, "api")
    rolled_back = runs["rollback"].commands("aws", "update-service")
    assert "flower" not in [argv[argv.index("--service") + 1] for argv in rolled_back]


# --- the API and Flower through their load balancers -----------------------------------------


def target_health(*states: str) -> Rule:
    """`aws elbv2 describe-target-health --output json` of Flower's target group."""
    targets = [
        {"Target": {"Id": f"10.0.1.{n}", "Port": 5555}, "TargetHealth": {"State": state}}
        for n, state in enumerate(states)
    ]
    return Rule("aws", "describe-target-health", json.dumps({"TargetHealthDescriptions": targets}))


def check_load_balancers(root: Path, work: Path, rules: list[Rule]) -> StepRun:
    job = DeployJob(root, work)
    return job.run(step_named(job.workflow, "through their load balancers"), rules)


def test_the_api_and_flower_are_checked_through_their_load_balancers(tmp_path: Path) -> None:
    result = check_load_balancers(REPO_ROOT, tmp_path, [target_health("healthy", "draining")])
    assert result.returncode == 0, result.stdout + result.stderr
    [curl] = result.commands("curl")
    assert "--fail" in curl
    # The certificate is verified for the API's name, on this environment's load balancer.
    assert "--insecure" not in curl
    assert "-k" not in curl
    connect_to = curl[curl.index("--connect-to") + 1]
    assert connect_to == f"api.staging.example.com:443:{VALUES['api_load_balancer']}:443"
    assert curl[-1] == "https://api.staging.example.com/health/ready"
    [health] = result.commands("aws", "describe-target-health")
    assert health[health.index("--target-group-arn") + 1] == VALUES["flower_target_group"]


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        ([Rule("curl", "/health/ready", exit=22), target_health("healthy")], ""),
        ([target_health("healthy", "unhealthy")], "(healthy unhealthy)"),
        ([target_health("draining")], "(draining)"),
        ([target_health()], "()"),
    ],
    ids=["api not ready", "a flower target unhealthy", "no flower target healthy", "no target"],
)
def test_an_api_or_flower_not_serving_fails_the_deploy(
    rules: list[Rule], error: str, tmp_path: Path
) -> None:
    result = check_load_balancers(REPO_ROOT, tmp_path, rules)
    assert result.returncode != 0
    if error:
        assert (
            f"::error::Flower's load balancer: no healthy target, or one not healthy {error}"
            in (result.stdout)
        )


# --- time for the rollback -------------------------------------------------------------------

# The steps without a timeout of their own (checkout, setup, logins, registration, tags) take
# a few minutes at most.
UNTIMED_STEPS_MINUTES = 10


def rollback_budget_problems(root: Path) -> list[str]:
    """Every step that waits on AWS or the network has its own timeout, and the timeouts, the
    rollback's included, fit inside the job's: a hung wait fails its step (and the rollback
    runs) before the job's timeout cancels everything."""
    job = workflow(root, "deploy-environment.yml")["jobs"]["deploy"]
    problems = []
    for job_step in job["steps"]:
        waits = re.search(r"aws ecs wait|curl ", job_step.get("run", ""))
        if waits and "timeout-minutes" not in job_step:
            problems.append(f"step {job_step['name']!r} waits without a timeout-minutes")
    budget = sum(job_step.get("timeout-minutes", 0) for job_step in job["steps"])
    if budget + UNTIMED_STEPS_MINUTES > job["timeout-minutes"]:
        problems.append(
            f"the steps' timeouts ({budget} min) leave the rollback no time inside the job's "
            f"{job['timeout-minutes']} min"
        )
    return problems


def test_a_hung_deploy_fails_its_step_in_time_for_the_rollback() -> None:
    assert rollback_budget_problems(REPO_ROOT) == []


def test_planted_smoke_test_without_a_timeout_is_refused(planted) -> None:
    root = planted(".github")
    replace_in(root / WORKFLOWS / "deploy-environment.yml", "timeout-minutes: 25", "")
    assert rollback_budget_problems(root) == [
        "step 'Smoke test through the fleet (worker.tasks.smoke_test)' waits without a "
        "timeout-minutes"
    ]
