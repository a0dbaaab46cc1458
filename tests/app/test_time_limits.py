"""The time-limit rule: soft < hard <= Fargate's stop window less a margin, and the visibility
timeout a small multiple of the hard limit; the settings refuse anything else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Settings
from app.time_limits import FARGATE_STOP_TIMEOUT, SHUTDOWN_MARGIN, time_limit_problems


def test_the_defaults_fit_inside_fargates_stop_window() -> None:
    settings = Settings()
    assert (
        time_limit_problems(
            soft=settings.task_soft_time_limit,
            hard=settings.task_time_limit,
            visibility=settings.sqs_visibility_timeout,
        )
        == []
    )
    assert settings.task_soft_time_limit < settings.task_time_limit
    assert settings.task_time_limit + SHUTDOWN_MARGIN <= FARGATE_STOP_TIMEOUT
    assert 2 * settings.task_time_limit <= settings.sqs_visibility_timeout
    assert settings.sqs_visibility_timeout <= 4 * settings.task_time_limit


@pytest.mark.parametrize(
    ("soft", "hard", "visibility", "named"),
    [
        (240, 300, 900, "must be at most 110 s"),  # the old defaults: SIGKILLed mid-task
        (100, 90, 300, "below TASK_TIME_LIMIT"),
        (90, 100, 150, "must be 2-4x TASK_TIME_LIMIT"),  # a retried task's message reappears
        (90, 100, 900, "must be 2-4x TASK_TIME_LIMIT"),  # a dead worker's message hides 15 min
    ],
)
def test_settings_refuse_limits_that_break_the_rule(
    soft: int, hard: int, visibility: int, named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(task_soft_time_limit=soft, task_time_limit=hard, sqs_visibility_timeout=visibility)
