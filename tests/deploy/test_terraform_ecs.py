"""terraform/'s ECS services, capacity and scaling: the invariants' planted mistakes, and the
worker's scale-out from zero evaluated by terraform from the policy's real step expressions."""

from __future__ import annotations

import pytest

from tests.deploy.checks import TERRAFORM_DIR
from tests.deploy.terraform_checks_ecs import scale_out_from_zero_problems
from tests.deploy.terraform_console import needs_terraform
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "ecs.tf",
        "ignore_changes = [task_definition]\n",
        "ignore_changes = []\n",
        "lifecycle must ignore_changes task_definition",
    ),
    (
        "ecs.tf",
        "desired_count                      = 1",
        "desired_count                      = 2",
        "beat: exactly one",
    ),
    ("ecs.tf", 'value = "enabled"', 'value = "disabled"', "Container Insights must be on"),
    (
        "variables.tf",
        'an idle fleet cost nothing."\n  default     = 0',
        'an idle fleet cost nothing."\n  default     = 1',
        "able to scale to zero",
    ),
    (
        "autoscaling.tf",
        "value = aws_sqs_queue.main.name",
        'value = "some-other-queue"',
        "target tracking must follow the SQS queue's backlog",
    ),
    # Workers on Spot beyond an on-demand base.
    (
        "ecs.tf",
        '  capacity_provider_strategy {\n    capacity_provider = "FARGATE_SPOT"\n    weight'
        "            = var.worker_spot_weight\n  }\n",
        "",
        "worker: no Fargate Spot",
    ),
    (
        "ecs.tf",
        'capacity_providers = ["FARGATE", "FARGATE_SPOT"]',
        'capacity_providers = ["FARGATE"]',
        "must include FARGATE and FARGATE_SPOT",
    ),
    (
        "ecs.tf",
        "base              = var.worker_on_demand_base\n"
        "    weight            = var.worker_on_demand_weight",
        "base              = var.worker_on_demand_base\n    weight            = 0",
        "FARGATE needs a weight (var.worker_on_demand_weight)",
    ),
    ("ecs.tf", "force_new_deployment = true", "force_new_deployment = false", "force_new_deploy"),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


# --- the scale-out from zero, evaluated by terraform itself ---------------------------------


@needs_terraform
@pytest.mark.parametrize(
    ("environment", "values"),
    [
        (None, {}),
        ("staging", {}),
        ("prod", {}),
        (None, {"worker_backlog_per_task_target": 7, "worker_max_count": 30}),
        (None, {"worker_backlog_per_task_target": 1, "worker_max_count": 3}),
        (None, {"worker_max_count": 1}),
    ],
    ids=str,
)
def test_scale_out_from_zero_sizes_the_fleet_to_the_backlog(
    environment: str | None, values: dict[str, int]
) -> None:
    """1, T, T+1, 5T and 100T waiting messages (T = the backlog per task) start
    min(max, ceil(waiting / T)) tasks, evaluated from the policy's real step expressions."""
    assert scale_out_from_zero_problems(TERRAFORM_DIR, values, environment) == []


OLD_STEPS = """    step_adjustment {
      metric_interval_lower_bound = 0
      metric_interval_upper_bound = var.worker_backlog_per_task_target
      scaling_adjustment          = 1
    }

    step_adjustment {
      metric_interval_lower_bound = var.worker_backlog_per_task_target
      scaling_adjustment          = var.worker_max_count
    }
"""


@needs_terraform
def test_planted_jump_to_the_maximum_is_refused(planted) -> None:
    """The old policy: one task up to T waiting messages, then straight to the maximum."""
    root = planted("terraform")
    autoscaling = root / "terraform/autoscaling.tf"
    text = autoscaling.read_text()
    start = text.index('    dynamic "step_adjustment" {')
    end = text.index("    }\n  }\n", start) + len("    }\n")
    autoscaling.write_text(text[:start] + OLD_STEPS + text[end:])
    found = scale_out_from_zero_problems(root / "terraform")
    assert "autoscaling: 101 waiting messages start 10 tasks from zero, not 2 " in " ".join(found)
