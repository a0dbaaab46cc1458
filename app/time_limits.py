"""How long a task may run, and how long SQS hides its message: one rule for every checker.

Fargate gives a stopping task at most 120 s (`stopTimeout`) between SIGTERM and SIGKILL. A deploy,
a scale-in or a Spot reclaim sends SIGTERM; Celery's warm shutdown lets the running task finish,
so the hard time limit must end it, and leave time to acknowledge the message, before the
SIGKILL. The visibility timeout must outlast the hard limit (a running task's message is never
handed to a second worker) but stay a small multiple of it: a message whose worker died hides
for the whole timeout before another worker gets it. Settings, the worker's start-up check (with
the queue's live attribute) and terraform's variable validations apply the same numbers.
"""

from __future__ import annotations

# Fargate's largest stopTimeout, which deploy/ecs/worker.json sets.
FARGATE_STOP_TIMEOUT = 120
# Seconds between the hard limit and the SIGKILL: the ack, the pool's exit, Celery's shutdown.
SHUTDOWN_MARGIN = 10
# The visibility timeout lies between these multiples of the hard limit. The floor leaves room
# for a retried task's countdown (RETRY_BACKOFF_MAX_SECONDS, 120 s, held by a worker as an ETA
# message) plus its run; the ceiling bounds how long a dead worker's message waits.
MIN_VISIBILITY_MULTIPLE = 2
MAX_VISIBILITY_MULTIPLE = 4


def time_limit_problems(*, soft: int, hard: int, visibility: int) -> list[str]:
    """Everything wrong with a soft limit, hard limit and visibility timeout, in seconds."""
    problems = []
    if not 0 < soft < hard:
        problems.append(f"TASK_SOFT_TIME_LIMIT {soft} s must be above 0 and below TASK_TIME_LIMIT")
    latest = FARGATE_STOP_TIMEOUT - SHUTDOWN_MARGIN
    if hard > latest:
        problems.append(
            f"TASK_TIME_LIMIT {hard} s must be at most {latest} s: Fargate kills a stopping task "
            f"{FARGATE_STOP_TIMEOUT} s after SIGTERM, and the task must end and ack before that"
        )
    low, high = MIN_VISIBILITY_MULTIPLE * hard, MAX_VISIBILITY_MULTIPLE * hard
    if not low <= visibility <= high:
        problems.append(
            f"visibility timeout {visibility} s must be {MIN_VISIBILITY_MULTIPLE}-"
            f"{MAX_VISIBILITY_MULTIPLE}x TASK_TIME_LIMIT ({low}-{high} s): above it so a running "
            "task's message is never handed out twice, not far above it so a dead worker's "
            "message comes back soon"
        )
    return problems
