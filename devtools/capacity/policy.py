"""The worker fleet's scaling policy, read from terraform/ for one environment.

Numbers come from the HCL (variable defaults, then environments/<env>.tfvars; cooldowns and
alarm periods from the resources), so a change in terraform is a change in the simulation.
The step table follows autoscaling.tf's rule; tests/devtools compare it with terraform's own
evaluation of `local.worker_scale_out_steps`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
# Application Auto Scaling's default quota of step adjustments per policy.
MAX_STEPS = 20
# Target tracking's own alarms (created by AWS, not in terraform): scale out after 3 one-minute
# datapoints above the target, scale in after 15 below 90 % of it (AWS Application Auto
# Scaling user guide, "Target tracking scaling policies").
TARGET_TRACKING_OUT_DATAPOINTS = 3
TARGET_TRACKING_IN_DATAPOINTS = 15
TARGET_TRACKING_IN_FRACTION = 0.9


@dataclass(frozen=True)
class ScalingPolicy:
    environment: str
    min_tasks: int
    max_tasks: int
    backlog_per_task: int  # target tracking's target, and the scale-out-from-zero step width
    on_demand_base: int  # the first tasks on on-demand Fargate
    on_demand_weight: int  # beyond the base, on-demand and Spot share tasks by these weights
    spot_weight: int
    scale_out_cooldown_s: float
    scale_in_cooldown_s: float
    from_zero_cooldown_s: float
    to_zero_cooldown_s: float
    idle_minutes_before_zero: int
    metric_period_s: float
    visibility_timeout_s: float

    def tasks_from_zero(self, waiting: float) -> int:
        """The step policy's exact capacity for `waiting` messages while no task runs: k tasks
        for (k-1)*T < waiting <= k*T, the last of the (at most 20) steps jumping to the max."""
        steps = min(self.max_tasks, MAX_STEPS)
        k = max(1, math.ceil(waiting / self.backlog_per_task))
        return k if k < steps else self.max_tasks

    def tracked_tasks(self, outstanding: float) -> int:
        """Target tracking's capacity for `outstanding` (waiting + in flight) messages."""
        wanted = math.ceil(outstanding / self.backlog_per_task)
        return max(self.min_tasks, min(self.max_tasks, wanted))

    def replace(self, **changes: Any) -> ScalingPolicy:
        return ScalingPolicy(**{**self.__dict__, **changes})


def load(environment: str = "prod", root: Path = TERRAFORM) -> ScalingPolicy:
    variables = _variables(root, environment)
    resources = _resources(root, ["autoscaling.tf", "cloudwatch.tf", "ecs.tf"])
    tracking = resources["aws_appautoscaling_policy"]["worker_backlog_per_task"]
    tracking = tracking["target_tracking_scaling_policy_configuration"][0]
    from_zero = resources["aws_appautoscaling_policy"]["worker_scale_out_from_zero"]
    to_zero = resources["aws_appautoscaling_policy"]["worker_scale_in_to_zero"]
    waiting_alarm = resources["aws_cloudwatch_metric_alarm"]["worker_work_waiting_at_zero"]
    worker = resources["aws_ecs_service"]["worker"]
    return ScalingPolicy(
        environment=environment,
        min_tasks=int(_value(variables, "${var.worker_min_count}")),
        max_tasks=int(_value(variables, "${var.worker_max_count}")),
        backlog_per_task=int(_value(variables, tracking["target_value"])),
        **_capacity_providers(worker, variables),
        scale_out_cooldown_s=float(tracking["scale_out_cooldown"]),
        scale_in_cooldown_s=float(tracking["scale_in_cooldown"]),
        from_zero_cooldown_s=float(from_zero["step_scaling_policy_configuration"][0]["cooldown"]),
        to_zero_cooldown_s=float(to_zero["step_scaling_policy_configuration"][0]["cooldown"]),
        idle_minutes_before_zero=int(_value(variables, "${var.worker_idle_minutes_before_zero}")),
        metric_period_s=float(waiting_alarm["metric_query"][1]["metric"][0]["period"]),
        visibility_timeout_s=float(_value(variables, "${var.sqs_visibility_timeout}")),
    )


def _capacity_providers(worker: dict[str, Any], variables: dict[str, Any]) -> dict[str, int]:
    found = {"on_demand_base": 0, "on_demand_weight": 0, "spot_weight": 0}
    for strategy in worker["capacity_provider_strategy"]:
        base = int(_value(variables, strategy.get("base", 0)))
        weight = int(_value(variables, strategy.get("weight", 0)))
        if _unquote(strategy["capacity_provider"]) == "FARGATE":
            found.update(on_demand_base=base, on_demand_weight=weight)
        else:
            found["spot_weight"] = weight
    return found


def _variables(root: Path, environment: str) -> dict[str, Any]:
    declared = hcl2.loads((root / "variables.tf").read_text())["variable"]
    values = {
        _unquote(name): body.get("default") for block in declared for name, body in block.items()
    }
    tfvars = root / "environments" / f"{environment}.tfvars"
    values.update(hcl2.loads(tfvars.read_text()))
    return values


def _resources(root: Path, files: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name in files:
        for block in hcl2.loads((root / name).read_text()).get("resource", []):
            for kind, instances in block.items():
                found.setdefault(_unquote(kind), {}).update(
                    {_unquote(key): body for key, body in instances.items()}
                )
    return found


def _value(variables: dict[str, Any], expression: Any) -> Any:
    """A literal, or `${var.name}`; anything else is an expression this reader does not
    evaluate, and says so."""
    if not isinstance(expression, str):
        return expression
    reference = re.fullmatch(r"\$\{var\.(\w+)\}", expression)
    if reference is None:
        raise ValueError(f"not a literal or a variable: {expression}")
    return variables[reference.group(1)]


def _unquote(text: str) -> str:
    return text.strip('"')
