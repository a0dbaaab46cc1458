"""terraform/'s time limits and visibility timeout: app/time_limits.py's rule in the defaults
and in the variables' own validations, evaluated by terraform itself (terraform console: no
provider, no init), so both refuse exactly what the settings refuse."""

from __future__ import annotations

import pytest

from app.time_limits import time_limit_problems
from tests.deploy.checks import ENVIRONMENTS, TERRAFORM_DIR, load_terraform
from tests.deploy.conftest import replace_in
from tests.deploy.terraform_checks_storage import queue_problems
from tests.deploy.terraform_console import needs_terraform, terraform_console, variable_errors
from tests.deploy.terraform_plants import Plant, plant_ids, problems_with_plant

TIME_LIMIT_VARIABLES = ("task_soft_time_limit", "task_time_limit", "sqs_visibility_timeout")

# (file, text to replace, replacement, a problem that must then be reported)
PLANTS: list[Plant] = [
    (
        "variables.tf",
        "default     = 300",
        "default     = 150",
        "visibility timeout 150 s must be 2-4x",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), PLANTS, ids=plant_ids(PLANTS))
def test_planted_mistake_fails_an_invariant(
    planted, file: str, old: str, new: str, expected: str
) -> None:
    found = problems_with_plant(planted, file, old, new)
    assert any(expected in problem for problem in found), found


def test_planted_old_time_limits_are_refused(planted) -> None:
    """The old defaults (soft 240, hard 300, visibility 900) outlive Fargate's stop window."""
    root = planted("terraform")
    variables = root / "terraform/variables.tf"
    replace_in(variables, "  default     = 300\n", "  default     = 900\n")
    replace_in(
        variables,
        "  default     = 100\n\n  validation {\n    condition     = var.task_time",
        "  default     = 300\n\n  validation {\n    condition     = var.task_time",
    )
    replace_in(variables, "  default     = 90\n", "  default     = 240\n")
    found = queue_problems(load_terraform(root / "terraform"))
    assert any("TASK_TIME_LIMIT 300 s must be at most 110 s" in p for p in found), found


@needs_terraform
def test_time_limit_defaults_fit_the_fargate_stop_window() -> None:
    values = terraform_console(
        TERRAFORM_DIR, f"[{', '.join(f'var.{v}' for v in TIME_LIMIT_VARIABLES)}]"
    )
    assert values == [90, 100, 300]
    assert variable_errors(TERRAFORM_DIR, {}) == ""
    for environment in ENVIRONMENTS:
        assert (
            terraform_console(TERRAFORM_DIR, "var.task_time_limit", environment=environment) <= 110
        )


@needs_terraform
@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"task_soft_time_limit": 100}, "task_soft_time_limit must be above 0 and below"),
        ({"task_soft_time_limit": 0}, "task_soft_time_limit must be above 0 and below"),
        (
            {"task_time_limit": 111, "sqs_visibility_timeout": 333},
            "task_time_limit must be at most 110 s",
        ),
        (
            {"task_soft_time_limit": 240, "task_time_limit": 300, "sqs_visibility_timeout": 900},
            "task_time_limit must be at most 110 s",
        ),
        ({"sqs_visibility_timeout": 199}, "sqs_visibility_timeout must be 2-4x task_time_limit"),
        ({"sqs_visibility_timeout": 401}, "sqs_visibility_timeout must be 2-4x task_time_limit"),
    ],
    ids=str,
)
def test_terraform_refuses_time_limits_outside_the_rule(
    values: dict[str, int], refusal: str
) -> None:
    assert refusal in variable_errors(TERRAFORM_DIR, values)


@needs_terraform
def test_terraform_time_limit_validations_are_the_rule_of_app_time_limits() -> None:
    """One rule in settings, the worker's start-up check and terraform: terraform refuses
    exactly the combinations app/time_limits.py refuses."""
    disagreements = []
    for hard in (60, 100, 110, 111):
        for soft in (0, hard - 1, hard):
            for visibility in (2 * hard - 1, 2 * hard, 4 * hard, 4 * hard + 1):
                values = dict(zip(TIME_LIMIT_VARIABLES, (soft, hard, visibility), strict=True))
                refused = bool(variable_errors(TERRAFORM_DIR, values))
                wrong = bool(time_limit_problems(soft=soft, hard=hard, visibility=visibility))
                if refused != wrong:
                    disagreements.append((values, "refused" if refused else "accepted"))
    assert disagreements == []
