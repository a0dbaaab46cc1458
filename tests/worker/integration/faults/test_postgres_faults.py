"""Postgres refused, reset, hung or slow, as a job is claimed (beat sweeping meanwhile) or as
its result is recorded: the job retries and completes once, after the database is back."""

from __future__ import annotations

import time

import pytest

from tests.faults.proxy import Fault, FaultKind
from tests.worker.integration.faults.stack import FaultStack, fault_kinds

pytestmark = [pytest.mark.model, pytest.mark.slow]

FAULTS = fault_kinds(slow=Fault(FaultKind.slow, delay_s=0.3))
HOLD_S = 8.0
# After Postgres is back: the job's next retry (at most 4 s here), a query left on a silent
# connection (the 2 s statement timeout plus the 2 s margin, then a new connection), a photo.
RECOVERY_BOUND_S = 40.0


@pytest.mark.parametrize("kind", list(FAULTS))
def test_a_database_fault_at_the_claim_costs_only_latency(stack: FaultStack, kind: str) -> None:
    """The fault begins with the worker idle: the job's claim meets it, and so do beat's
    sweeps and the pooled connections of every process."""
    fault, postgres = FAULTS[kind], stack.proxies.postgres
    retries = stack.worker_log_count("job will retry")
    sweeps_failed = stack.beat_log().count("failed:")
    postgres.inject(fault)
    job = stack.enqueue()  # the test's own connection, straight to Postgres
    time.sleep(HOLD_S)
    postgres.heal()
    healed_at = time.time()

    rows = stack.completed_once([job], healed_at=healed_at, bound=RECOVERY_BOUND_S)
    assert rows[job].attempt_count == 1
    if kind != "slow":
        assert stack.worker_log_count("job will retry") > retries
        assert stack.beat_log().count("failed:") > sweeps_failed  # and beat went on
    stack.record_figure(
        f"postgres {kind} at claim",
        fault=str(fault),
        recovered_s=stack.recovery_s(rows, healed_at),
        jobs=len(rows),
    )


@pytest.mark.parametrize("kind", list(FAULTS))
def test_a_database_fault_at_the_result_costs_only_latency(stack: FaultStack, kind: str) -> None:
    """The fault begins when the job writes its result to S3: its result transaction meets
    it, and the redone run overwrites the same object."""
    fault, postgres = FAULTS[kind], stack.proxies.postgres
    retries = stack.worker_log_count("job will retry")
    began_at = stack.fault_at("PutObject", postgres, fault)
    job = stack.enqueue()
    began_at()
    time.sleep(HOLD_S)
    postgres.heal()
    healed_at = time.time()

    rows = stack.completed_once([job], healed_at=healed_at, bound=RECOVERY_BOUND_S)
    if kind != "slow":
        assert stack.worker_log_count("job will retry") > retries
    stack.record_figure(
        f"postgres {kind} at result",
        fault=str(fault),
        recovered_s=stack.recovery_s(rows, healed_at),
        jobs=len(rows),
    )
