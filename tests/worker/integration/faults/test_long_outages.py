"""Outages longer than the five retries (2+4+8+16+32 s) jobs once had, and longer than five
sweeps: each job waits them out and completes, once, on the task chain it started with."""

from __future__ import annotations

import time

import pytest

from tests.faults.proxy import Fault, FaultKind
from tests.worker.integration.faults.stack import FaultStack

pytestmark = [pytest.mark.model, pytest.mark.slow]

# The scaled stand-in for "up to 30 minutes": well past the old retry counts, well inside
# the stack's RETRY_BUDGET_SECONDS (240 s, an hour in production).
OUTAGE_S = 75.0
RECOVERY_BOUND_S = 45.0


@pytest.mark.parametrize(
    ("dependency", "moment"),
    [("s3", "GetObject"), ("postgres", "PutObject")],
    ids=["s3-at-read", "postgres-at-result"],
)
def test_a_long_outage_costs_only_latency(stack: FaultStack, dependency: str, moment: str) -> None:
    """S3 gone as the job reads its photo; the database gone as it records its result (its
    claim cannot be handed back, so the job looks abandoned to beat once the database returns)."""
    proxy = getattr(stack.proxies, dependency)
    began_at = stack.fault_at(moment, proxy, Fault(FaultKind.refuse))
    job = stack.enqueue()
    began_at()
    time.sleep(OUTAGE_S)
    proxy.heal()
    healed_at = time.time()

    rows = stack.completed_once([job], healed_at=healed_at, bound=RECOVERY_BOUND_S)
    # One chain: neither a sweep nor beat's recovery published the job while its retry waited.
    assert rows[job].enqueue_attempts == 1
    stack.queue_drained(timeout=2 * float(stack.env["SQS_VISIBILITY_TIMEOUT"]))
    stack.record_figure(
        f"{dependency} refused for {OUTAGE_S:.0f} s",
        fault="refuse",
        recovered_s=stack.recovery_s(rows, healed_at),
        jobs=len(rows),
    )


def test_a_long_broker_outage_leaves_queued_jobs_to_the_sweep(stack: FaultStack) -> None:
    """SQS gone for more than five sweeps (the count that once failed such jobs for good):
    the upload made meanwhile is queue_failed, and published once SQS is back."""
    sqs = stack.proxies.sqs
    sqs.inject(Fault(FaultKind.refuse))
    uploaded = stack.upload()
    assert uploaded["status"] == "queue_failed"
    time.sleep(OUTAGE_S / 3)  # a dozen sweeps at 2 s
    sqs.heal()
    healed_at = time.time()

    rows = stack.completed_once([uploaded["id"]], healed_at=healed_at, bound=RECOVERY_BOUND_S)
    assert rows[uploaded["id"]].enqueue_attempts >= 2
    assert rows[uploaded["id"]].failure_reason is None
