"""`make capacity`: the policy as terraform has it, the fleet model's accounting, and the
model checked against the measured bench-e2e burst (issue 21)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import simpy

from devtools.capacity import policy as policies
from devtools.capacity import workloads
from devtools.capacity.fleet import STOP_WINDOW_S, Fleet, FleetModel
from devtools.capacity.inputs import MEASURED_JOBS, ServiceTimes, SpotReclaims, TaskStart
from devtools.capacity.replay import replay
from devtools.capacity.tuning import BACKLOG_PER_TASK, IDLE_MINUTES, MAX_TASKS, evaluate
from devtools.capacity.validation import validate
from tests import servers
from tests.deploy.terraform_console import terraform_console

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"


def _model(service: tuple[float, ...] = (0.5,), reclaims: SpotReclaims | None = None):
    policy = policies.load("prod")
    return policy, FleetModel.under(policy, TaskStart(), ServiceTimes(service), reclaims)


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_the_step_table_is_terraforms_own(environment: str) -> None:
    policy = policies.load(environment)
    steps = terraform_console(
        TERRAFORM,
        "local.worker_scale_out_steps",
        locals_from=("autoscaling.tf",),
        environment=environment,
    )
    # Bounds are relative to the alarm's threshold of 1 waiting message.
    for step in steps:
        waiting = [1 + step["lower"]]
        if step["upper"] is not None:
            waiting.append(step["upper"])  # the last count inside the step, upper exclusive
        for count in waiting:
            assert policy.tasks_from_zero(count) == step["tasks"], (count, step)


def test_the_policy_follows_terraform(tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy)
    autoscaling = copy / "autoscaling.tf"
    autoscaling.write_text(
        autoscaling.read_text().replace("scale_in_cooldown  = 300", "scale_in_cooldown  = 123")
    )
    tfvars = copy / "environments" / "prod.tfvars"
    tfvars.write_text(tfvars.read_text() + "\nworker_backlog_per_task_target = 40\n")
    changed = policies.load("prod", root=copy)
    assert (changed.scale_in_cooldown_s, changed.backlog_per_task) == (123.0, 40)
    assert changed.max_tasks == policies.load("prod").max_tasks


def test_a_lone_photo_waits_for_two_metric_minutes_and_a_task_start() -> None:
    policy, model = _model(service=(0.5,))
    outcome = replay(workloads.single(), model=model, policy=policy, metric_delay_s=60.0)
    # The minute that saw the upload ends at 60 s and reaches the alarm at 120 s.
    expected = 2 * policy.metric_period_s + model.start.seconds + 0.5 + model.receive_gap_s
    assert outcome.drain_s == pytest.approx(expected)
    # Back to zero after the idle minutes: that tail is paid for.
    assert outcome.task_hours_on_demand * 3600 > policy.idle_minutes_before_zero * 60


def test_every_photo_is_done_once_through_spot_reclaims() -> None:
    policy, model = _model(service=(0.4, 0.6, 1.8), reclaims=SpotReclaims(per_task_hour=30.0))
    outcome = replay(workloads.burst(3_000), model=model, policy=policy, seed=3)
    assert outcome.reclaimed > 0
    assert outcome.redelivered == 0  # every photo ends inside the two minutes' warning
    assert outcome.task_hours_spot > 0
    assert outcome.p95_s >= outcome.p50_s


def test_a_photo_longer_than_the_stop_window_comes_back_after_the_visibility_timeout() -> None:
    policy, model = _model(service=(STOP_WINDOW_S + 30,), reclaims=SpotReclaims(per_task_hour=60.0))
    outcome = replay(workloads.burst(150), model=model, policy=policy, seed=1)
    assert outcome.redelivered > 0
    assert outcome.photos == 150  # and all of them were done in the end


def test_spot_costs_less_than_on_demand_for_the_same_burst() -> None:
    policy, on_demand = _model()
    _, spot = _model(reclaims=SpotReclaims(per_task_hour=0.0))
    burst = workloads.burst(10_000)
    assert (
        replay(burst, model=spot, policy=policy).cost
        < replay(burst, model=on_demand, policy=policy).cost
    )


def test_the_model_predicts_the_measured_burst_within_15_percent() -> None:
    checked = validate(MEASURED_JOBS, visibility_timeout_s=300.0)
    assert abs(checked.error) <= 0.15, checked


def test_make_capacity_prints_the_table_and_one_json_line() -> None:
    result = subprocess.run(
        [str(servers.VENV_BIN / "python"), "-m", "devtools.capacity"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    *table, last = result.stdout.strip().splitlines()
    report = json.loads(last)
    assert "burst of 10,000" in "\n".join(table)
    assert set(report["workloads"]) >= {"one photo at idle", "burst of 100,000"}
    assert report["policy"]["max_tasks"] == policies.load("prod").max_tasks


def test_tasks_beyond_the_base_split_by_the_capacity_provider_weights() -> None:
    policy, model = _model(reclaims=SpotReclaims(per_task_hour=0.0))
    assert (policy.on_demand_weight, policy.spot_weight) == (1, 3)  # terraform's defaults
    fleet = Fleet(simpy.Environment(), model)
    fleet.set_desired(1 + 8)
    spot = sum(task.spot for task in fleet.tasks)
    assert (len(fleet.tasks) - spot, spot) == (1 + 2, 6)


def _neighbours(policy: policies.ScalingPolicy) -> list[policies.ScalingPolicy]:
    """The policies one step away on each knob the search tries."""
    found = []
    for knob, steps in (
        ("backlog_per_task", BACKLOG_PER_TASK),
        ("max_tasks", MAX_TASKS),
        ("idle_minutes_before_zero", IDLE_MINUTES),
    ):
        at = steps.index(getattr(policy, knob))
        found += [
            policy.replace(**{knob: steps[index]})
            for index in (at - 1, at + 1)
            if 0 <= index < len(steps)
        ]
    return found


def test_productions_policy_in_terraform_is_the_tuned_one() -> None:
    """terraform's production policy meets every stated goal, and no policy one knob-step
    away that also meets them is cheaper (the search's answer, kept in terraform)."""
    policy = policies.load("prod")
    model = FleetModel.under(policy, TaskStart(), ServiceTimes.measured(), SpotReclaims())
    chosen = evaluate(policy, model)
    assert chosen["meets_goals"], chosen
    for neighbour in _neighbours(policy):
        other = evaluate(neighbour, model)
        assert not (other["meets_goals"] and other["cost_usd"] < chosen["cost_usd"]), other
