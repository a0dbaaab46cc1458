"""The ECS services (ecs.tf), where they run (Fargate on demand, workers on Spot) and how the
worker scales (autoscaling.tf), its scale-out from zero evaluated by terraform itself."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tests.deploy.checks import TERRAFORM_DIR, Terraform, block, default, load_terraform, references
from tests.deploy.terraform_console import hcl_expression, terraform_console


def ecs_service_problems(tf: Terraform) -> list[str]:
    problems = []
    cluster = tf.resource("aws_ecs_cluster", "this")
    insights = {s.get("name"): s.get("value") for s in cluster.get("setting", [])}
    if insights.get("containerInsights") not in {"enabled", "enhanced"}:
        problems.append("ecs: Container Insights must be on")
    for name, body in tf.of_type("aws_ecs_service").items():
        ignored = block(body, "lifecycle").get("ignore_changes", [])
        if "${task_definition}" not in ignored and "task_definition" not in ignored:
            problems.append(f"ecs service {name}: lifecycle must ignore_changes task_definition")
        if block(body, "network_configuration").get("assign_public_ip") is not False:
            problems.append(f"ecs service {name}: tasks must not get a public IP")
    beat = tf.resource("aws_ecs_service", "beat")
    if beat.get("desired_count") != 1 or beat.get("deployment_maximum_percent") != 100:
        problems.append("ecs service beat: exactly one (desired_count 1, maximum percent 100)")
    return problems + capacity_problems(tf)


def capacity_problems(tf: Terraform) -> list[str]:
    """Workers on Fargate Spot beyond an on-demand base; every other service on demand."""
    problems = []
    providers = tf.resource("aws_ecs_cluster_capacity_providers", "this")
    if not {"FARGATE", "FARGATE_SPOT"} <= set(providers.get("capacity_providers", [])):
        problems.append("ecs cluster: capacity providers must include FARGATE and FARGATE_SPOT")
    for name, body in tf.of_type("aws_ecs_service").items():
        strategy = {
            item.get("capacity_provider"): item
            for item in body.get("capacity_provider_strategy", [])
        }
        if name != "worker":
            if body.get("launch_type") != "FARGATE" or strategy:
                problems.append(f"ecs service {name}: runs on on-demand Fargate (launch_type)")
            continue
        spot, on_demand = strategy.get("FARGATE_SPOT", {}), strategy.get("FARGATE", {})
        if "launch_type" in body or not spot.get("weight"):
            problems.append(
                "ecs service worker: no Fargate Spot (a capacity_provider_strategy with "
                "FARGATE_SPOT weight > 0 instead of launch_type)"
            )
        if on_demand.get("base") != "${var.worker_on_demand_base}":
            problems.append(
                "ecs service worker: FARGATE must carry the on-demand base "
                "(var.worker_on_demand_base)"
            )
        if (
            on_demand.get("weight") != "${var.worker_on_demand_weight}"
            or spot.get("weight") != "${var.worker_spot_weight}"
        ):
            problems.append(
                "ecs service worker: FARGATE needs a weight (var.worker_on_demand_weight) beside "
                "Spot's (var.worker_spot_weight): ECS never falls back from Spot to on demand, "
                "so without it a Spot shortage shrinks the fleet to its base"
            )
        if strategy and body.get("force_new_deployment") is not True:
            problems.append(
                "ecs service worker: force_new_deployment must be true to change its strategy"
            )
    if not default(tf, "worker_on_demand_weight") or not default(tf, "worker_spot_weight"):
        problems.append("ecs: worker_on_demand_weight and worker_spot_weight default above 0")
    if default(tf, "worker_on_demand_base") != 1:
        problems.append("ecs: worker_on_demand_base defaults to 1 (one on-demand worker)")
    return problems


def autoscaling_problems(tf: Terraform) -> list[str]:
    problems = []
    target = tf.resource("aws_appautoscaling_target", "worker")
    if not references(target, "aws_ecs_service.worker"):
        problems.append("autoscaling: the target must be the worker service")
    if (
        target.get("min_capacity") != "${var.worker_min_count}"
        or default(tf, "worker_min_count") != 0
    ):
        problems.append("autoscaling: the worker must be able to scale to zero (min 0)")
    policies = tf.of_type("aws_appautoscaling_policy")
    tracking = [p for p in policies.values() if p.get("policy_type") == "TargetTrackingScaling"]
    if not tracking or not all(references(p, "aws_sqs_queue.main") for p in tracking):
        problems.append("autoscaling: target tracking must follow the SQS queue's backlog")
    elif not any(references(p, "RunningTaskCount") for p in tracking):
        problems.append("autoscaling: target tracking must divide the backlog per running task")
    alarms = tf.of_type("aws_cloudwatch_metric_alarm")
    from_zero = [
        a
        for a in alarms.values()
        if references(a, "aws_appautoscaling_policy.")
        and references(a, "ApproximateNumberOfMessagesVisible")
        and references(a, "RunningTaskCount")
    ]
    if not from_zero:
        problems.append("autoscaling: no alarm starts the worker from zero tasks")
    return problems


# --- the worker's scale-out from zero, evaluated -------------------------------------------


def step_adjustments_expression(policy: dict[str, Any]) -> str:
    """An HCL list of {lower, upper, tasks}: the policy's step adjustments, static or dynamic."""

    def step(body: dict[str, Any]) -> str:
        fields = {
            "lower": body.get("metric_interval_lower_bound"),
            "upper": body.get("metric_interval_upper_bound"),
            "tasks": body.get("scaling_adjustment"),
        }
        return "{" + ", ".join(f"{k} = {hcl_expression(v)}" for k, v in fields.items()) + "}"

    configuration = block(policy, "step_scaling_policy_configuration")
    lists = ["[" + ", ".join(step(b) for b in configuration.get("step_adjustment", [])) + "]"]
    for dynamic in configuration.get("dynamic", []):
        generator = dynamic.get("step_adjustment")
        if generator:
            iterator = generator.get("iterator", "step_adjustment")
            each = hcl_expression(generator["for_each"])
            items = f"[for key, value in {each} : {{key = key, value = value}}]"
            lists.append(f"[for {iterator} in {items} : {step(generator['content'][0])}]")
    return f"concat({', '.join(lists)})"


def step_capacity(steps: list[dict[str, Any]], breach: float) -> int | None:
    """The adjustment a step policy applies when the metric is `breach` above its threshold:
    bounds relative to the threshold, lower bound inclusive, upper bound exclusive (Application
    Auto Scaling's rule for a metric above the threshold); None when no step covers it."""
    for candidate in steps:
        lower = -math.inf if candidate["lower"] is None else float(candidate["lower"])
        upper = math.inf if candidate["upper"] is None else float(candidate["upper"])
        if lower <= breach < upper:
            return int(candidate["tasks"])
    return None


def scale_out_from_zero_problems(
    directory: Path = TERRAFORM_DIR,
    values: dict[str, Any] | None = None,
    environment: str | None = None,
) -> list[str]:
    """Waiting messages at zero tasks start min(max, ceil(waiting / target)) tasks."""
    tf = load_terraform(directory)
    policy = tf.resource("aws_appautoscaling_policy", "worker_scale_out_from_zero")
    alarm = tf.resource("aws_cloudwatch_metric_alarm", "worker_work_waiting_at_zero")
    evaluated = terraform_console(
        directory,
        "{target = var.worker_backlog_per_task_target, most = var.worker_max_count, "
        f"fewest = var.worker_min_count, steps = {step_adjustments_expression(policy)}}}",
        values,
        locals_from=("autoscaling.tf",),
        environment=environment,
    )
    target, most, fewest = evaluated["target"], evaluated["most"], evaluated["fewest"]
    steps, problems = evaluated["steps"], []
    if len(steps) > 20:
        problems.append(f"autoscaling: {len(steps)} steps; Application Auto Scaling allows 20")
    for waiting in sorted({1, target, target + 1, 101, 5 * target, 100 * target}):
        chosen = step_capacity(steps, waiting - alarm.get("threshold", 1))
        started = None if chosen is None else max(fewest, min(most, chosen))
        expected = min(most, math.ceil(waiting / target))
        if started != expected:
            problems.append(
                f"autoscaling: {waiting} waiting messages start {started} tasks from zero, "
                f"not {expected} (one per {target} waiting messages, at most {most})"
            )
    return problems
